import type { Identity } from '@conduit/shared';
import type { Platform } from '../platform/platform.js';
import { checkPassword } from './passwords.js';

/**
 * OIDC mode's key backup secret (docs/identity.md, "Keys with an identity provider"): the identity
 * provider owns the login, so the backup is sealed under a secret derived from the user's key
 * passphrase, which never leaves the device, with the platform's memory-hard KDF (scrypt, 128 MiB
 * on Node): the backup is reachable by whoever can get a directory token for the identity (the
 * server, an identity provider that signs in as anyone), and each of their guesses pays for it.
 * The salt names the purpose and the identity, so one passphrase gives each identity its own secret.
 */
export async function providerBackupSecret(
  platform: Platform,
  passphrase: string,
  identity: Identity,
): Promise<string> {
  checkPassword(passphrase);
  const salt = new TextEncoder().encode(`conduit oidc key backup v1\0${identity}`);
  const key = await platform.passphraseKey(passphrase, salt);
  try {
    let binary = '';
    for (const byte of key) binary += String.fromCharCode(byte);
    return btoa(binary);
  } finally {
    key.fill(0);
  }
}
