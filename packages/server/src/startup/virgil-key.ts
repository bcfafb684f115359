import { randomBytes } from 'node:crypto';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';
import { VirgilCrypto } from 'virgil-crypto';
import type { ServerConfig } from '../config.js';
import type { Refusal } from './refusal.js';

const refusal = (reason: string): Refusal => ({ check: 'virgil-key', settings: ['VIRGIL_APP_KEY'], reason });

/**
 * VIRGIL_APP_KEY must import as a private key and sign what its own public key verifies: a key
 * that fails here would only show when the first client asks for a Virgil token. The key id is
 * assigned by Virgil's dashboard, not derived from the key, so it cannot be matched locally.
 */
export async function checkVirgilKey(config: ServerConfig): Promise<Refusal | null> {
  await initVirgilWasm();
  const crypto = new VirgilCrypto();
  let privateKey;
  try {
    privateKey = crypto.importPrivateKey(config.virgil.appPrivateKey);
  } catch {
    return refusal('VIRGIL_APP_KEY is not a private key (base64 of the key the Virgil dashboard exports)');
  }
  const probe = randomBytes(32);
  const signature = crypto.calculateSignature(probe, privateKey);
  if (!crypto.verifySignature(probe, signature, crypto.extractPublicKey(privateKey))) {
    return refusal('VIRGIL_APP_KEY does not verify its own signature (a damaged key)');
  }
  return null;
}
