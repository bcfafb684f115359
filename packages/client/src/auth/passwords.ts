import { createHash } from 'node:crypto';
import { ConduitError, Password } from '@conduit/shared';

/** VALIDATION_FAILED unless the password has an acceptable length. */
export function checkPassword(password: string): void {
  if (!Password.safeParse(password).success) {
    throw new ConduitError('VALIDATION_FAILED', 'The password must be 8 to 256 characters long.');
  }
}

/**
 * The pre-OPAQUE split of the password, kept only to migrate old accounts (docs/identity.md):
 * SHA-512(SHA-256(password)), first half the server's login secret, second half the key
 * backup's password. A fast unsalted hash: never used for anything new.
 */
export interface LegacyPasswords {
  login: string;
  backup: string;
}

export function legacyPasswords(password: string): LegacyPasswords {
  checkPassword(password);
  const hash = createHash('sha512').update(createHash('sha256').update(password, 'utf8').digest()).digest();
  try {
    return {
      login: hash.subarray(0, 32).toString('base64'),
      backup: hash.subarray(32, 64).toString('base64'),
    };
  } finally {
    hash.fill(0);
  }
}
