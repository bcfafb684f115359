import type { EThree } from '@virgilsecurity/e3kit-node';
import type { IKeyEntryStorage } from 'virgil-sdk';

type PrivateKey = ReturnType<EThree['virgilCrypto']['importPrivateKey']>;

/**
 * This device's private key of the identity, read from E3Kit's key store entry (the encrypted
 * store: the entry holds the exported key, base64); undefined when the device has none.
 */
export async function localPrivateKey(ethree: EThree, store: IKeyEntryStorage): Promise<PrivateKey | undefined> {
  const entry = await store.load(ethree.identity);
  return entry ? ethree.virgilCrypto.importPrivateKey(entry.value) : undefined;
}

/** The exported public key matching this device's private key (undefined without one). */
export async function localPublicKey(ethree: EThree, store: IKeyEntryStorage): Promise<Buffer | undefined> {
  const key = await localPrivateKey(ethree, store);
  return key && ethree.virgilCrypto.exportPublicKey(ethree.virgilCrypto.extractPublicKey(key));
}
