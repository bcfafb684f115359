import { ConduitError } from '../../errors.js';
import { createHeader, parseHeader } from './header.js';
import { checkHeaderDigest, SegmentKey } from './key.js';
import { ciphertextSize, segmentCount, CONTAINER_TAG_LENGTH } from './layout.js';
import {
  assertPadTarget,
  assertZeroPadding,
  streamLengthOf,
  type DecryptOptions,
  type EncryptOptions,
} from './options.js';
import { openSegment, sealSegmentInto } from './segment.js';

/** One-shot helpers for small data and tests; large objects go through the streams. */

export function encryptBuffer(plaintext: Uint8Array, options: EncryptOptions): Buffer {
  assertPadTarget(options.padToLength);
  const streamLength = options.padToLength ?? plaintext.length;
  if (streamLength < plaintext.length) throw new ConduitError('VALIDATION_FAILED', 'padToLength < plaintext length.');
  const header = createHeader(options.segmentSize, options.salt);
  const key = new SegmentKey(options.contentKey, header);
  const size = header.segmentSize;
  const count = segmentCount(streamLength, size);
  let stream = plaintext;
  if (streamLength > plaintext.length) {
    stream = Buffer.alloc(streamLength);
    stream.set(plaintext);
  }
  const out = Buffer.allocUnsafe(ciphertextSize(streamLength, size));
  let written = header.bytes.copy(out, 0);
  for (let index = 0; index < count; index++) {
    const segment = stream.subarray(index * size, (index + 1) * size);
    written = sealSegmentInto(key, index, segment, index === count - 1, out, written);
  }
  return out;
}

export function decryptBuffer(ciphertext: Uint8Array, options: DecryptOptions): Buffer {
  const streamLength = streamLengthOf(options);
  const header = parseHeader(ciphertext);
  checkHeaderDigest(header, options.headerDigest);
  const size = header.segmentSize;
  if (ciphertext.length !== ciphertextSize(streamLength, size)) {
    throw new ConduitError('INTEGRITY', 'Ciphertext length does not match the envelope.');
  }
  const key = new SegmentKey(options.contentKey, header);
  const count = segmentCount(streamLength, size);
  const out = Buffer.allocUnsafe(streamLength);
  let read = header.bytes.length;
  for (let index = 0; index < count; index++) {
    const last = index === count - 1;
    const segmentEnd = last ? ciphertext.length : read + size + CONTAINER_TAG_LENGTH;
    openSegment(key, index, ciphertext.subarray(read, segmentEnd), last).copy(out, index * size);
    read = segmentEnd;
  }
  assertZeroPadding(out.subarray(options.plainLength));
  return out.subarray(0, options.plainLength);
}
