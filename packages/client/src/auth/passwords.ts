import { createHash } from 'node:crypto';
import { ConduitError, Password } from '@conduit/shared';

/**
 * Splits the user's password into two unrelated secrets, as E3Kit's `EThree.derivePasswords` does
 * (SHA-512(SHA-256(password)): first half to log in, second half for the key backup). The server
 * only ever sees the login half, so it cannot open the private key backup in Keyknox.
 */
export interface DerivedPasswords {
  login: string;
  backup: string;
}

export function derivePasswords(password: string): DerivedPasswords {
  if (!Password.safeParse(password).success) {
    throw new ConduitError('VALIDATION_FAILED', 'The password must be 8 to 256 characters long.');
  }
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
