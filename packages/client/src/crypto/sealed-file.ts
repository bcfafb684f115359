/**
 * The at-rest sealing shared by the key store and the pin store: AES-256-GCM with a random IV,
 * the caller's label bound as additional data (SealingCipher; Node's: platform/node/sealing-cipher.ts).
 * Files are replaced whole and durably (StateFiles.replaceDurably).
 */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export const isSealed = (v: unknown): v is Sealed =>
  typeof v === 'object' &&
  v !== null &&
  ['iv', 'ct', 'tag'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string');
