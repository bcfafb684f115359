import type { IKeyEntryStorage } from 'virgil-sdk';

/**
 * The private key's store (E3Kit's key entries), encrypted at rest under the user's password;
 * opened by Platform.unlockKeyStore (Node's: node/key-store.ts).
 */
export interface KeyStore extends IKeyEntryStorage {
  /** Re-seals every entry under a key derived from `newPassword`. */
  rekey(newPassword: string): Promise<void>;
  /** Forgets the unlocked key: the store is unusable until unlocked again. */
  lock(): void;
}
