import type { Sealed } from '../crypto/sealed-file.js';

/** AES-256-GCM for small files at rest (crypto/sealed-file.ts); synchronous, like node:crypto's. */
export interface SealingCipher {
  /** Seals `data` under the 32-byte `key` with a random IV, `aad` bound as additional data. */
  seal(key: Buffer, data: Buffer, aad: string): Sealed;
  /** Throws (a plain Error) when the tag does not verify: wrong key, or tampered data. */
  open(key: Buffer, sealed: Sealed, aad: string): Buffer;
}
