import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { syncMapOf, type PointerStatus } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';
import { createKeys } from '@conduit/server';
import { openRedis } from './support/redis.js';

// Issue 11, item 1: the WHOLE local stack (API, worker, Sync emulator, s3rver, Virgil directory)
// stopped and started again on the same data folder, between a send and its receipt and between
// a group's creation and its next send. Ports may change: clients are re-opened on the new URLs.
describe('restart of the whole local stack', () => {
  let dir: string;
  let dataDir: string;
  let stack: LocalStack;
  let clients: ConduitClient[] = [];
  let alice: ConduitClient;
  let bob: ConduitClient;
  const PW = { alice: 'alice password 1', bob: 'bob password 12' };

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };

  /** Stops every process of the stack and starts it again; the devices come back as they were. */
  const restart = async () => {
    for (const client of clients) await client.close();
    clients = [];
    await stack.stop();
    stack = await startLocalStack({ dataDir });
    alice = await open('alice', 'alice-laptop');
    await alice.unlock(PW.alice);
    bob = await open('bob', 'bob-phone');
    await bob.unlock(PW.bob);
  };

  const send = async (groupId: string, label: string) => {
    const path = join(dir, `${label}.txt`);
    const plain = Buffer.from(`${label}-${randomBytes(16).toString('hex')}`);
    await writeFile(path, plain);
    return { sent: await alice.sendFile(groupId, path), plain };
  };

  const receive = async (groupId: string, sent: SentFile, plain: Buffer) => {
    const file = await bob.receiveNext(groupId, { outDir: join(dir, 'inbox'), timeoutMs: 20_000 });
    expect(file.pointerId).toBe(sent.pointerId);
    expect((await readFile(file.path)).equals(plain)).toBe(true);
  };

  const waitForState = async (pointerId: string, state: PointerStatus['state']) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await alice.status(pointerId);
      if (status.state === state) return status;
      if (Date.now() > deadline) throw new Error(`pointer stayed ${status.state}, expected ${state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-restart-'));
    dataDir = join(dir, 'stack');
    stack = await startLocalStack({ dataDir });
    alice = await open('alice', 'alice-laptop');
    await alice.register(PW.alice);
    bob = await open('bob', 'bob-phone');
    await bob.register(PW.bob);
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers and purges what was pending at the restart; a group made before it takes the next send', async () => {
    const sending = (await alice.createGroup(['bob'])).groupId;
    const quiet = (await alice.createGroup(['bob'])).groupId;
    const pending = await send(sending, 'pending-at-restart');
    expect((await alice.status(pending.sent.pointerId)).state).toBe('pending');

    await restart();

    // The Sync map, its item and bob's read-only grant survived: no healing was needed.
    expect(await stack.inspect.syncItemExists(syncMapOf(sending), pending.sent.pointerId)).toBe(true);
    const grant = await stack.inspect.syncGet(`Maps/${syncMapOf(quiet)}/Permissions/bob`);
    expect(grant).toMatchObject({ status: 200, body: { read: true, write: false } });
    await receive(sending, pending.sent, pending.plain);
    await waitForState(pending.sent.pointerId, 'purged');
    expect(await stack.inspect.syncItemExists(syncMapOf(sending), pending.sent.pointerId)).toBe(false);

    const next = await send(quiet, 'after-restart');
    await receive(quiet, next.sent, next.plain);
    await waitForState(next.sent.pointerId, 'purged');

    const redis = openRedis(stack.redisUrl);
    try {
      const audit = await redis.lrange(createKeys(stack.internals.redisKeyPrefix).auditLog(), 0, -1);
      expect(audit.filter((l) => l.includes('"sync-healed"'))).toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});
