import { createHash, randomBytes } from 'node:crypto';
import { ConduitError } from '../../errors.js';

/**
 * Container v1 header: 42 bytes, fixed layout (docs/format.md §2). It is public (stored in S3
 * in front of the segments), so it holds nothing about the plaintext, not even its length.
 */
export const CONTAINER_MAGIC = Buffer.from('CNDT', 'ascii');
export const CONTAINER_VERSION = 0x01;
/** AES-256-GCM segments keyed by HKDF-SHA256(content key, salt). */
export const ALG_AES256GCM_HKDF_SHA256 = 0x01;
export const CONTAINER_SALT_LENGTH = 32;
export const CONTAINER_HEADER_LENGTH = CONTAINER_MAGIC.length + 1 + 1 + 4 + CONTAINER_SALT_LENGTH;
/** Bytes of the header covered by the HKDF info (everything before the salt). */
export const HEADER_PARAMS_LENGTH = CONTAINER_HEADER_LENGTH - CONTAINER_SALT_LENGTH;

export const MIN_SEGMENT_SIZE = 64 * 1024;
export const MAX_SEGMENT_SIZE = 8 * 1024 * 1024;
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;

export interface ContainerHeader {
  /** The 42 serialized bytes, exactly as stored (used as AAD of every segment). */
  readonly bytes: Buffer;
  readonly segmentSize: number;
  readonly salt: Buffer;
}

export function isValidSegmentSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_SEGMENT_SIZE && size <= MAX_SEGMENT_SIZE;
}

export function createHeader(segmentSize: number = DEFAULT_SEGMENT_SIZE, salt?: Uint8Array): ContainerHeader {
  if (!isValidSegmentSize(segmentSize)) {
    throw new ConduitError(
      'VALIDATION_FAILED',
      `Segment size must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}].`,
    );
  }
  if (salt !== undefined && salt.length !== CONTAINER_SALT_LENGTH) {
    throw new ConduitError('VALIDATION_FAILED', `Salt must be ${CONTAINER_SALT_LENGTH} bytes.`);
  }
  const bytes = Buffer.alloc(CONTAINER_HEADER_LENGTH);
  CONTAINER_MAGIC.copy(bytes, 0);
  bytes[4] = CONTAINER_VERSION;
  bytes[5] = ALG_AES256GCM_HKDF_SHA256;
  bytes.writeUInt32BE(segmentSize, 6);
  if (salt) bytes.set(salt, HEADER_PARAMS_LENGTH);
  else randomBytes(CONTAINER_SALT_LENGTH).copy(bytes, HEADER_PARAMS_LENGTH);
  return { bytes, segmentSize, salt: bytes.subarray(HEADER_PARAMS_LENGTH) };
}

/**
 * Parses the first CONTAINER_HEADER_LENGTH bytes of a stored object. Unknown magic/version/algorithm is
 * FORMAT_UNSUPPORTED (a newer or foreign format); a short or out-of-range v1 header is INTEGRITY.
 */
export function parseHeader(data: Uint8Array): ContainerHeader {
  if (data.length < CONTAINER_HEADER_LENGTH) throw new ConduitError('INTEGRITY', 'Container header is truncated.');
  const bytes = Buffer.from(data.subarray(0, CONTAINER_HEADER_LENGTH));
  if (!bytes.subarray(0, CONTAINER_MAGIC.length).equals(CONTAINER_MAGIC)) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Not a Conduit container.');
  }
  if (bytes[4] !== CONTAINER_VERSION) throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported container version.');
  if (bytes[5] !== ALG_AES256GCM_HKDF_SHA256) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported container algorithm.');
  }
  const segmentSize = bytes.readUInt32BE(6);
  if (!isValidSegmentSize(segmentSize)) throw new ConduitError('INTEGRITY', 'Container segment size is out of range.');
  return { bytes, segmentSize, salt: bytes.subarray(HEADER_PARAMS_LENGTH) };
}

/** SHA-256 of the serialized header; the sealed envelope carries it to bind the envelope to one object. */
export function headerDigest(header: Uint8Array | ContainerHeader): Buffer {
  const bytes = header instanceof Uint8Array ? header : header.bytes;
  if (bytes.length !== CONTAINER_HEADER_LENGTH) {
    throw new ConduitError('VALIDATION_FAILED', `A container header is ${CONTAINER_HEADER_LENGTH} bytes.`);
  }
  return createHash('sha256').update(bytes).digest();
}
