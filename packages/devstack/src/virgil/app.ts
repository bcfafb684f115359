import { randomBytes } from 'node:crypto';
import { VirgilCrypto } from 'virgil-crypto';
import { initPythiaWasm, initVirgilWasm } from '@conduit/shared/virgil-wasm';

/** What a Virgil application is to its token issuer (server) and to the directory (verifier). */
export interface VirgilAppCredentials {
  appId: string;
  appKeyId: string;
  /** base64 of the exported private key: virgil-crypto `importPrivateKey` reads it for `JwtGenerator`. */
  appPrivateKey: string;
  /** base64 of the exported public key (DER). */
  appPublicKey: string;
}

/** Creates a fresh local Virgil application: random ids and an Ed25519 app key pair. */
export async function createVirgilApp(): Promise<VirgilAppCredentials> {
  await Promise.all([initVirgilWasm(), initPythiaWasm()]); // the stand-in serves Pythia too
  const crypto = new VirgilCrypto();
  const { privateKey, publicKey } = crypto.generateKeys();
  return {
    appId: randomBytes(16).toString('hex'),
    appKeyId: randomBytes(16).toString('hex'),
    appPrivateKey: crypto.exportPrivateKey(privateKey).toString('base64'),
    appPublicKey: crypto.exportPublicKey(publicKey).toString('base64'),
  };
}
