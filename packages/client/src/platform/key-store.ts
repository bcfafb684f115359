import type { IKeyEntryStorage } from 'virgil-sdk';

/**
 * The private key's store (E3Kit's key entries), encrypted at rest under the user's password;
 * opened by Platform.unlockKeyStore (Node's: node/key-store.ts).
 */
export interface KeyStore extends IKeyEntryStorage {
  /** Re-seals every entry under a key derived from `newPassword`. */
  rekey(newPassword: string): Promise<void>;
  /**
   * Re-reads the store from disk, for entries another process of this device may have written
   * (a renewed refresh token). CONFIG if the store was re-sealed under another password since.
   */
  reload(): Promise<void>;
  /** Forgets the unlocked key: the store is unusable until unlocked again. */
  lock(): void;
}
