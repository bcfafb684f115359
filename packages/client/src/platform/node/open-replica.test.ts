import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeySealer } from '../../virgil/self-seal.js';
import { openReplica } from './open-replica.js';

// The replica is owner-only whatever the process umask (SQLite creates files with it): issue 11 item 12.
const sealer: KeySealer = {
  seal: async (secret) => secret.toString('base64'),
  open: async (sealed) => Buffer.from(sealed, 'base64'),
};
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

let dir: string;
let umask: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-replica-'));
  umask = process.umask(0o022);
});
afterAll(async () => {
  process.umask(umask);
  await rm(dir, { recursive: true, force: true });
});

describe('openReplica', () => {
  it('creates records.sqlite and its WAL files 0600 under a 022 umask', async () => {
    const replica = await openReplica(dir, sealer, () => {});
    try {
      for (const name of ['records.sqlite', 'records.sqlite-wal', 'records.sqlite-shm', 'records.key']) {
        expect([name, await modeOf(join(dir, name))]).toEqual([name, 0o600]);
      }
    } finally {
      replica.close();
    }
  });

  it('repairs a replica an earlier version left readable by others', async () => {
    await chmod(join(dir, 'records.sqlite'), 0o644);
    const replica = await openReplica(dir, sealer, () => {});
    try {
      expect(await modeOf(join(dir, 'records.sqlite'))).toBe(0o600);
      expect(await modeOf(join(dir, 'records.sqlite-wal'))).toBe(0o600);
    } finally {
      replica.close();
    }
  });
});
