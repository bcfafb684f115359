/**
 * Synchronous, incremental SHA-256 (the segment digests of an upload are taken in its hot loop,
 * and several callers need one without awaiting): node:crypto here; WebCrypto's is async only, so
 * a browser platform brings a synchronous implementation.
 */
export interface Sha256 {
  update(data: Uint8Array | string): Sha256;
  digest(): Buffer;
}

export type Sha256Factory = () => Sha256;

export const sha256Hex = (sha256: Sha256Factory, data: Uint8Array | string): string =>
  sha256().update(data).digest().toString('hex');
