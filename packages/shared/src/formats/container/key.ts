import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  timingSafeEqual,
  type CipherGCM,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';
import { ConduitError } from '../../errors.js';
import { HEADER_PARAMS_LENGTH, headerDigest, type ContainerHeader } from './header.js';
import { MAX_SEGMENTS, CONTAINER_TAG_LENGTH } from './layout.js';

/** Key schedule and nonce construction (docs/format.md §3-§4). Module-internal: callers use the public APIs. */

export const CONTENT_KEY_LENGTH = 32;
export const KDF_LABEL = Buffer.from('conduit/container/v1', 'ascii');
const SUBKEY_LENGTH = 32;
const NONCE_PREFIX_LENGTH = 7;
const NONCE_LENGTH = 12;
const ALGORITHM = 'aes-256-gcm';

export function assertContentKey(contentKey: Uint8Array): void {
  if (!(contentKey instanceof Uint8Array) || contentKey.length !== CONTENT_KEY_LENGTH) {
    throw new ConduitError('VALIDATION_FAILED', `Content key must be ${CONTENT_KEY_LENGTH} bytes.`);
  }
}

/** HKDF-SHA256(ikm = content key, salt = header salt, info = label || header[0..10)) -> subkey(32) || nonce prefix(7). */
export function deriveKeyMaterial(
  contentKey: Uint8Array,
  header: ContainerHeader,
): { subkey: Buffer; noncePrefix: Buffer } {
  assertContentKey(contentKey);
  const info = Buffer.concat([KDF_LABEL, header.bytes.subarray(0, HEADER_PARAMS_LENGTH)]);
  const okm = Buffer.from(hkdfSync('sha256', contentKey, header.salt, info, SUBKEY_LENGTH + NONCE_PREFIX_LENGTH));
  return { subkey: okm.subarray(0, SUBKEY_LENGTH), noncePrefix: okm.subarray(SUBKEY_LENGTH) };
}

/** Rejects a header whose SHA-256 differs from the one the sealed envelope carries. */
export function checkHeaderDigest(header: ContainerHeader, expected: Uint8Array | undefined): void {
  if (expected === undefined) return;
  const actual = headerDigest(header);
  if (expected.length !== actual.length || !timingSafeEqual(actual, expected)) {
    throw new ConduitError('INTEGRITY', 'Container header does not match the envelope.');
  }
}

export function assertSegmentIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SEGMENTS) {
    throw new ConduitError('VALIDATION_FAILED', 'Segment index out of range.');
  }
}

/** Per-object AEAD state: the derived subkey, the header (AAD) and one reusable nonce buffer. */
export class SegmentKey {
  readonly segmentSize: number;
  private readonly key: KeyObject;
  private readonly nonce = Buffer.alloc(NONCE_LENGTH);

  constructor(
    contentKey: Uint8Array,
    readonly header: ContainerHeader,
  ) {
    const { subkey, noncePrefix } = deriveKeyMaterial(contentKey, header);
    this.key = createSecretKey(subkey);
    noncePrefix.copy(this.nonce, 0);
    // The KeyObject holds its own copy; wipe ours (both views share one allocation).
    subkey.fill(0);
    noncePrefix.fill(0);
    this.segmentSize = header.segmentSize;
  }

  /** nonce = prefix(7) || uint32be(index) || last(1). createCipheriv copies it, so one buffer serves all segments. */
  private nonceFor(index: number, last: boolean): Buffer {
    assertSegmentIndex(index);
    this.nonce.writeUInt32BE(index, NONCE_PREFIX_LENGTH);
    this.nonce[NONCE_LENGTH - 1] = last ? 1 : 0;
    return this.nonce;
  }

  cipher(index: number, last: boolean): CipherGCM {
    const cipher = createCipheriv(ALGORITHM, this.key, this.nonceFor(index, last), {
      authTagLength: CONTAINER_TAG_LENGTH,
    });
    cipher.setAAD(this.header.bytes);
    return cipher;
  }

  decipher(index: number, last: boolean): DecipherGCM {
    const decipher = createDecipheriv(ALGORITHM, this.key, this.nonceFor(index, last), {
      authTagLength: CONTAINER_TAG_LENGTH,
    });
    decipher.setAAD(this.header.bytes);
    return decipher;
  }
}

/**
 * Verifies the tag, mapping failure to INTEGRITY (OpenSSL's message is not part of our contract).
 * GCM's final() never returns bytes: every plaintext byte came out of update().
 */
export function verifyTag(decipher: DecipherGCM, tag: Uint8Array, index: number): void {
  decipher.setAuthTag(tag);
  try {
    decipher.final();
  } catch {
    throw new ConduitError('INTEGRITY', `Segment ${index} failed authentication.`);
  }
}
