import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { createKeys, processMetrics, type RedisClient } from '@conduit/server';
import { syncMapOf, type PointerStatus } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';
import { openRedis } from './support/redis.js';

// Issue 11, item 1b: Sync loses a group's map or a pending item behind the server's back (an
// operator with the account's credentials deletes it through the Sync REST API). The server
// heals (audit entry, metric) and delivery completes with no workaround.
describe('Sync healing on the local stack', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let alice: ConduitClient;
  let bob: ConduitClient;
  let groupId: string;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };

  /** DELETE on the Sync REST API with the account's (admin) credentials. */
  const syncDelete = async (path: string) => {
    const { syncRestUrl, syncCredentials: c } = stack.internals;
    const res = await fetch(`${syncRestUrl}/v1/Services/${c.serviceSid}/${path}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from(`${c.accountSid}:${c.authToken}`).toString('base64')}` },
    });
    expect(res.status).toBe(204);
  };

  const send = async (label: string) => {
    const path = join(dir, `${label}.txt`);
    const plain = Buffer.from(`${label}-${randomBytes(16).toString('hex')}`);
    await writeFile(path, plain);
    return { sent: await alice.sendFile(groupId, path), plain };
  };

  const receiveAndPurge = async ({ sent, plain }: Awaited<ReturnType<typeof send>>) => {
    const file = await bob.receiveNext(groupId, { outDir: join(dir, 'inbox'), timeoutMs: 20_000 });
    expect(file.pointerId).toBe(sent.pointerId);
    expect((await readFile(file.path)).equals(plain)).toBe(true);
    await until(async () => (await alice.status(sent.pointerId)).state === ('purged' satisfies PointerStatus['state']));
  };

  const until = async (check: () => Promise<boolean>, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const heals = async (what: string) =>
    (await redis.lrange(createKeys(stack.internals.redisKeyPrefix).auditLog(), 0, -1))
      .map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry)
      .filter((e) => e.type === 'sync-healed' && e.what === what && e.groupId === groupId);
  const healMetric = async (what: string): Promise<number> => {
    const text = await processMetrics().render();
    const line = text.split('\n').find((l) => l.startsWith(`conduit_sync_heals_total{what="${what}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-healing-'));
    // A reconciler pass every second, leaving only the last second to the normal path.
    stack = await startLocalStack({
      dataDir: join(dir, 'stack'),
      server: { delivery: { reconcileIntervalSeconds: 1, reconcileGraceSeconds: 1 } },
    });
    redis = openRedis(stack.redisUrl);
    alice = await open('alice', 'alice-laptop');
    await alice.register('alice password 1');
    bob = await open('bob', 'bob-phone');
    await bob.register('bob password 12');
    groupId = (await alice.createGroup(['bob'])).groupId;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await redis?.quit();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a group map deleted behind the server is re-provisioned with its grants, and delivery completes', async () => {
    const before = await healMetric('map');
    await syncDelete(`Maps/${syncMapOf(groupId)}`);
    // Whichever comes first heals it: the next publish, or the reconciler's healing pass.
    const file = await send('after-map-deleted');
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), file.sent.pointerId)).toBe(true);
    const grant = await stack.inspect.syncGet(`Maps/${syncMapOf(groupId)}/Permissions/bob`);
    expect(grant).toMatchObject({ status: 200, body: { read: true, write: false, manage: false } });
    await receiveAndPurge(file);
    await until(async () => (await heals('map')).length > 0);
    const entries = await heals('map');
    expect(entries).toEqual([expect.objectContaining({ map: syncMapOf(groupId), grants: 2 })]);
    expect(entries[0]?.trigger === 'publish' || entries[0]?.trigger === 'reconcile').toBe(true);
    expect(await healMetric('map')).toBe(before + 1);
    expect(await healMetric('permissions')).toBeGreaterThanOrEqual(2);
  });

  it("a member's running receive that lost the map recovers once it is healed", async () => {
    const files: string[] = [];
    const stop = new AbortController();
    const receiving = bob.receive(groupId, {
      outDir: join(dir, 'running'),
      signal: stop.signal,
      onFile: (f) => files.push(f.pointerId),
    });
    try {
      await new Promise((r) => setTimeout(r, 500)); // subscribed
      await syncDelete(`Maps/${syncMapOf(groupId)}`);
      const file = await send('while-receiving');
      await until(async () => files.includes(file.sent.pointerId));
      await until(async () => (await alice.status(file.sent.pointerId)).state === 'purged');
    } finally {
      stop.abort();
      await receiving;
    }
  });

  it('a receive started without its read grant asks the server to restore it, then delivers', async () => {
    const file = await send('grant-lost');
    // The healing pass restores only missing maps: this grant comes back only if bob's receive asks.
    await syncDelete(`Maps/${syncMapOf(groupId)}/Permissions/bob`);
    const denied = await stack.inspect.syncGet(`Maps/${syncMapOf(groupId)}/Permissions/bob`);
    expect(denied.status).toBe(404);
    await receiveAndPurge(file);
    const grant = await stack.inspect.syncGet(`Maps/${syncMapOf(groupId)}/Permissions/bob`);
    expect(grant).toMatchObject({ status: 200, body: { read: true, write: false, manage: false } });
  });

  it('a pending item deleted behind the server is re-published by the healing pass, then delivered', async () => {
    const before = await healMetric('item');
    const file = await send('item-deleted');
    await syncDelete(`Maps/${syncMapOf(groupId)}/Items/${file.sent.pointerId}`);
    await until(() => stack.inspect.syncItemExists(syncMapOf(groupId), file.sent.pointerId));
    // The audit entry follows the write (it is sealed into the chain asynchronously).
    await until(async () => (await heals('item')).length > 0);
    expect(await heals('item')).toEqual([
      expect.objectContaining({ itemKey: file.sent.pointerId, trigger: 'reconcile' }),
    ]);
    expect(await healMetric('item')).toBe(before + 1);
    await receiveAndPurge(file);
    // Purged means gone for good: the healing pass never brings a pointer back after its purge.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), file.sent.pointerId)).toBe(false);
  });
});
