import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateFile } from './private-file.js';
import type { KeySealer } from '../../virgil/self-seal.js';
import type { Replica } from '../../records/replica.js';
import { SqliteReplica } from './sqlite-replica.js';

const DB_FILE = 'records.sqlite';
const KEY_FILE = 'records.key';

/**
 * Opens this endpoint's replica in `dir` (the identity's state directory). Its at-rest key is
 * sealed to this identity's private key (E3Kit authEncrypt) next to it. When that key can no
 * longer be opened (the private key was rotated), the replica is only a cache of the server's
 * feed: it is discarded and rebuilt by the next catch-up.
 */
export async function openReplica(dir: string, sealer: KeySealer, log: (line: string) => void): Promise<Replica> {
  const keyPath = join(dir, KEY_FILE);
  const dbPath = join(dir, DB_FILE);
  const sealed = await readFile(keyPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (sealed !== undefined) {
    const key = await sealer.open(sealed.trim()).catch(() => undefined);
    if (key) return openPrivate(dbPath, key);
    log('the records replica key cannot be opened (rotated private key?): rebuilding the replica from the feed');
  }
  for (const suffix of ['', '-wal', '-shm']) await rm(dbPath + suffix, { force: true });
  const key = randomBytes(32);
  await writeFile(keyPath, `${await sealer.seal(key)}\n`, { mode: 0o600 });
  return openPrivate(dbPath, key);
}

async function openPrivate(dbPath: string, key: Buffer): Promise<Replica> {
  await makePrivateFile(dbPath, [`${dbPath}-wal`, `${dbPath}-shm`]);
  return SqliteReplica.open(dbPath, key);
}
