import { scrypt } from 'node:crypto';

/**
 * scrypt N=2^17, r=8, p=1 (128 MiB, about 1 s on a 2-core machine): what each guess at a passphrase costs
 * whoever can test guesses against what the key protects.
 */
const COST = { N: 2 ** 17, r: 8, p: 1 } as const;

export function passphraseKey(passphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, 32, { ...COST, maxmem: 256 * COST.N * COST.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}
