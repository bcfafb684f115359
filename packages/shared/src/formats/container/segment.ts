import { ConduitError } from '../../errors.js';
import { createHeader, parseHeader } from './header.js';
import { assertSegmentIndex, checkHeaderDigest, SegmentKey, verifyTag } from './key.js';
import { CONTAINER_TAG_LENGTH } from './layout.js';
import { updateInto } from './update.js';

/**
 * Whole-segment encryption and decryption (docs/format.md §5). A stored segment is
 * ciphertext || tag(16); the plaintext of every non-final segment is exactly segmentSize bytes,
 * the final one holds 1..segmentSize bytes, or 0 only when it is the object's only segment.
 * Segments are independent, so S3 multipart parts made of whole segments can be built in parallel.
 */

function plainLengthAllowed(index: number, length: number, last: boolean, segmentSize: number): boolean {
  if (!last) return length === segmentSize;
  return length <= segmentSize && (length > 0 || index === 0);
}

/** Encrypts one segment into `out` at `offset` (plaintext.length + CONTAINER_TAG_LENGTH bytes). */
export function sealSegmentInto(
  key: SegmentKey,
  index: number,
  plaintext: Uint8Array,
  last: boolean,
  out: Buffer,
  offset: number,
): number {
  const cipher = key.cipher(index, last);
  let written = updateInto(cipher, plaintext, out, offset);
  cipher.final();
  written += cipher.getAuthTag().copy(out, written);
  return written;
}

/** Decrypts and verifies one stored segment; throws INTEGRITY for a wrong shape or tag. */
export function openSegment(key: SegmentKey, index: number, segment: Uint8Array, last: boolean): Buffer {
  const plainLength = segment.length - CONTAINER_TAG_LENGTH;
  if (plainLength < 0 || !plainLengthAllowed(index, plainLength, last, key.segmentSize)) {
    throw new ConduitError('INTEGRITY', `Segment ${index} has the wrong length.`);
  }
  const decipher = key.decipher(index, last);
  const plaintext = Buffer.allocUnsafe(plainLength);
  updateInto(decipher, segment.subarray(0, plainLength), plaintext, 0);
  try {
    verifyTag(decipher, segment.subarray(plainLength), index);
  } catch (err) {
    plaintext.fill(0);
    throw err;
  }
  return plaintext;
}

export interface SegmentEncryptorOptions {
  contentKey: Uint8Array;
  segmentSize?: number;
  /** Fixed salt for known-answer tests only; production headers take a fresh random salt. */
  salt?: Uint8Array;
}

export class SegmentEncryptor {
  /** The 42 header bytes: the stored object starts with them, followed by segments 0, 1, ... in order. */
  readonly header: Buffer;
  readonly segmentSize: number;
  private readonly key: SegmentKey;

  constructor(options: SegmentEncryptorOptions) {
    const header = createHeader(options.segmentSize, options.salt);
    this.key = new SegmentKey(options.contentKey, header);
    this.header = header.bytes;
    this.segmentSize = header.segmentSize;
  }

  /** Returns ciphertext || tag. Non-final segments must be exactly segmentSize bytes. */
  encryptSegment(index: number, plaintext: Uint8Array, last: boolean): Buffer {
    assertSegmentIndex(index);
    if (!plainLengthAllowed(index, plaintext.length, last, this.segmentSize)) {
      throw new ConduitError('VALIDATION_FAILED', `Segment ${index} has the wrong plaintext length.`);
    }
    const out = Buffer.allocUnsafe(plaintext.length + CONTAINER_TAG_LENGTH);
    sealSegmentInto(this.key, index, plaintext, last, out, 0);
    return out;
  }

  /**
   * encryptSegment into a caller's buffer (reused across segments: no per-segment allocation);
   * returns the stored length, plaintext.length + CONTAINER_TAG_LENGTH. `out` may start with
   * `plaintext` itself (in place: `plaintext` is then overwritten by the ciphertext).
   */
  encryptSegmentInto(index: number, plaintext: Uint8Array, last: boolean, out: Uint8Array): number {
    assertSegmentIndex(index);
    if (!plainLengthAllowed(index, plaintext.length, last, this.segmentSize)) {
      throw new ConduitError('VALIDATION_FAILED', `Segment ${index} has the wrong plaintext length.`);
    }
    assertRoom(out, plaintext.length + CONTAINER_TAG_LENGTH);
    const cipher = this.key.cipher(index, last);
    const written = updateInto(cipher, plaintext, out, 0);
    cipher.final();
    out.set(cipher.getAuthTag(), written);
    return written + CONTAINER_TAG_LENGTH;
  }
}

function assertRoom(out: Uint8Array, length: number): void {
  if (out.length < length) throw new ConduitError('VALIDATION_FAILED', 'The output buffer is too small.');
}

export interface SegmentDecryptorOptions {
  contentKey: Uint8Array;
  /** The stored object's first 42 bytes. */
  header: Uint8Array;
  /** SHA-256 of the header from the sealed envelope; a mismatch throws INTEGRITY. */
  headerDigest?: Uint8Array;
}

export class SegmentDecryptor {
  readonly segmentSize: number;
  private readonly key: SegmentKey;

  constructor(options: SegmentDecryptorOptions) {
    const header = parseHeader(options.header);
    checkHeaderDigest(header, options.headerDigest);
    this.key = new SegmentKey(options.contentKey, header);
    this.segmentSize = header.segmentSize;
  }

  /** Returns the segment's plaintext only after its tag verified. `last` must come from the known length. */
  decryptSegment(index: number, segment: Uint8Array, last: boolean): Buffer {
    return openSegment(this.key, index, segment, last);
  }

  /**
   * decryptSegment into a caller's buffer (reused across segments: no per-segment allocation);
   * returns the plaintext length. `out` may be `segment` itself (in place). The bytes in `out`
   * are plaintext only once this returns: if the tag does not verify, they are zeroed before the
   * INTEGRITY error is thrown, so unverified plaintext never outlives the call.
   */
  decryptSegmentInto(index: number, segment: Uint8Array, last: boolean, out: Uint8Array): number {
    const plainLength = segment.length - CONTAINER_TAG_LENGTH;
    if (plainLength < 0 || !plainLengthAllowed(index, plainLength, last, this.segmentSize)) {
      throw new ConduitError('INTEGRITY', `Segment ${index} has the wrong length.`);
    }
    assertRoom(out, plainLength);
    // The tag is read before `out` (possibly `segment`) is overwritten.
    const tag = Buffer.from(segment.subarray(plainLength));
    const decipher = this.key.decipher(index, last);
    updateInto(decipher, segment.subarray(0, plainLength), out, 0);
    try {
      verifyTag(decipher, tag, index);
    } catch (err) {
      out.fill(0, 0, plainLength);
      throw err;
    }
    return plainLength;
  }
}
