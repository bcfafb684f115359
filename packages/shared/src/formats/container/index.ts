export {
  ALG_AES256GCM_HKDF_SHA256,
  createHeader,
  DEFAULT_SEGMENT_SIZE,
  CONTAINER_HEADER_LENGTH,
  headerDigest,
  CONTAINER_MAGIC,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  parseHeader,
  CONTAINER_SALT_LENGTH,
  CONTAINER_VERSION,
  type ContainerHeader,
} from './header.js';
export { CONTENT_KEY_LENGTH } from './key.js';
export {
  ciphertextSize,
  MAX_SEGMENTS,
  padme,
  segmentCount,
  segmentOffset,
  segmentPlainLength,
  segmentRangeFor,
  CONTAINER_TAG_LENGTH,
  type SegmentRange,
} from './layout.js';
export type { DecryptOptions, EncryptOptions } from './options.js';
export {
  SegmentDecryptor,
  SegmentEncryptor,
  type SegmentDecryptorOptions,
  type SegmentEncryptorOptions,
} from './segment.js';
export { decryptBuffer, encryptBuffer } from './buffer.js';
export { createDecryptStream, createEncryptStream, DecryptStream, EncryptStream } from './stream.js';
export { decryptRange, decryptSegments, type RangeDecryptOptions, type RangeReader } from './range.js';
