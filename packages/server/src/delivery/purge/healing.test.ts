/**
 * Healing Sync against real parts: Redis and the devstack Sync emulator (ACL on) through the real
 * TwilioSyncAdmin. A map or item removed behind the server's back comes back, audited and counted.
 */
import { randomBytes } from 'node:crypto';
import { syncMapOf, type Endpoint } from '@conduit/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncCredentials, type SyncEmulator } from '@conduit/devstack';
import { LocalSyncHttpClient } from '../../adapters/twilio/local-http-client.js';
import { TwilioSyncAdmin } from '../../adapters/twilio/twilio-sync-admin.js';
import { AuditLog } from '../../audit/audit-log.js';
import { GroupRepository } from '../../adapters/redis/groups.js';
import { createKeys } from '../../adapters/redis/keys.js';
import { PointerLedger } from '../../adapters/redis/pointers.js';
import { SyncWriteBudget } from '../../adapters/redis/token-bucket.js';
import type { DeviceRepository } from '../../adapters/redis/devices.js';
import { PointerRegistry } from '../../files/pointer-registry.js';
import { setItemHealing } from '../sync/heal.js';
import { provisionGroupMap } from '../sync/provision.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../../testing/fakes.js';
import { TEST_BINDING, TEST_RECEIPT } from '../../testing/ledger.js';
import { safeObserver } from '../events.js';
import { reconcile, type ReconcileDeps } from './maintenance.js';
import { PURGE_QUEUE, type PurgeJobData } from './queue.js';

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const logger = pino({ level: 'silent' });
const hex = () => randomBytes(16).toString('hex');
const alice: Endpoint = { identity: 'alice', deviceId: 'alice-dev-1' };
const bob: Endpoint = { identity: 'bob', deviceId: 'bob-dev-01' };

let redis: Redis;
let queue: Queue<PurgeJobData>;
let creds: SyncCredentials;
let emu: SyncEmulator;
let rest: ReturnType<typeof twilio>;
let deps: ReconcileDeps;
const heals: { what: string; count?: number }[] = [];

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection: redis, prefix: keys.bullPrefix() });
  creds = createSyncCredentials();
  emu = await startSyncEmulator({ ...creds, aclEnabled: true });
  rest = twilio(creds.accountSid, creds.authToken, { httpClient: new LocalSyncHttpClient(emu.restUrl) });
  deps = {
    syncAdmin: new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 }),
    ledger: new PointerLedger(redis, keys),
    groups: new GroupRepository(redis, keys),
    audit: new AuditLog(redis, keys),
    budget: new SyncWriteBudget(redis, keys, 1000),
    queue,
    tuning: { attempts: 3, backoffBaseMs: 20, backoffMaxMs: 100 },
    observer: safeObserver({ onSyncHealed: (e) => heals.push({ ...e }) }, logger),
    logger,
    itemTtlSeconds: 3600,
  };
});

afterAll(async () => {
  await queue.close();
  await emu.close();
  await deleteKeys(prefix);
  await redis.quit();
});

const map = (groupId: string) => rest.sync.v1.services(creds.serviceSid).syncMaps(syncMapOf(groupId));

async function readyGroup(): Promise<string> {
  const groupId = hex();
  expect(await deps.groups.create(groupId, 'alice', ['bob'], new Date(Date.now() - 60_000))).toBe(true);
  await provisionGroupMap(deps.syncAdmin, groupId, 'alice', ['bob']);
  await deps.groups.markReady(groupId);
  return groupId;
}

/** Registers a pending pointer (created a minute ago, past the reconciler's grace period). */
async function registered(groupId: string): Promise<string> {
  const id = hex();
  const outcome = await deps.ledger.register({
    pointerId: id,
    groupId,
    sender: alice,
    expected: [bob],
    createdAt: new Date(Date.now() - 60_000),
    retentionSeconds: 3600,
    binding: TEST_BINDING,
    epoch: await deps.ledger.epochOf(groupId),
  });
  expect(outcome).toBe('created');
  return id;
}

/** Registers a pending pointer and publishes it as the API does (ledger copy first). */
async function pendingPointer(groupId: string): Promise<{ id: string; item: Record<string, unknown> }> {
  const id = await registered(groupId);
  const item = { v: 1, id, groupId, note: randomBytes(8).toString('hex') };
  expect(await deps.ledger.keepPublished(id, groupId, JSON.stringify(item))).toBe(true);
  await setItemHealing(deps, groupId, id, item, 3600, 'publish');
  return { id, item };
}

async function itemData(groupId: string, key: string): Promise<unknown> {
  try {
    return (await map(groupId).syncMapItems(key).fetch()).data;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}

async function grantOf(groupId: string, identity: string) {
  const p = await map(groupId).syncMapPermissions(identity).fetch();
  return { read: p.read, write: p.write, manage: p.manage };
}

async function healEntries(groupId: string): Promise<Record<string, unknown>[]> {
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines
    .map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry)
    .filter((e) => e.type === 'sync-healed' && e.groupId === groupId);
}

const soon = () => new Date(Date.now() + 1_000);

describe('Sync healing', () => {
  it('publishing into a deleted map re-provisions it with read-only grants, then publishes', async () => {
    const groupId = await readyGroup();
    await map(groupId).remove();
    heals.length = 0;
    const { id, item } = await pendingPointer(groupId);
    expect(await itemData(groupId, id)).toEqual(item);
    expect(await grantOf(groupId, 'alice')).toEqual({ read: true, write: false, manage: false });
    expect(await grantOf(groupId, 'bob')).toEqual({ read: true, write: false, manage: false });
    expect(await healEntries(groupId)).toEqual([
      expect.objectContaining({ what: 'map', trigger: 'publish', grants: 2, map: syncMapOf(groupId) }),
    ]);
    expect(heals).toEqual([{ what: 'map' }, { what: 'permissions', count: 2 }]);
  });

  it('the reconciler re-provisions a missing map and re-publishes its pending pointers', async () => {
    const groupId = await readyGroup();
    const one = await pendingPointer(groupId);
    const two = await pendingPointer(groupId);
    await map(groupId).remove();
    heals.length = 0;

    const result = await reconcile(deps, 0, soon());
    expect(result).toMatchObject({ mapsHealed: 1 });
    expect(result.itemsHealed).toBeGreaterThanOrEqual(2);
    expect(await itemData(groupId, one.id)).toEqual(one.item);
    expect(await itemData(groupId, two.id)).toEqual(two.item);
    expect(await grantOf(groupId, 'bob')).toEqual({ read: true, write: false, manage: false });
    const entries = await healEntries(groupId);
    expect(entries.filter((e) => e.what === 'map')).toEqual([expect.objectContaining({ trigger: 'reconcile' })]);
    expect(entries.filter((e) => e.what === 'item').map((e) => e.itemKey)).toEqual(
      expect.arrayContaining([one.id, two.id]),
    );
    expect(heals.filter((h) => h.what === 'item')).toHaveLength(2);

    // Healed: the next pass has nothing to do for this group.
    await reconcile(deps, 0, soon());
    expect(await healEntries(groupId)).toHaveLength(entries.length);
  });

  it('a pending item deleted behind the server is re-published; an acknowledged one stays gone', async () => {
    const groupId = await readyGroup();
    const pending = await pendingPointer(groupId);
    const done = await pendingPointer(groupId);
    // Its last ack moves it on, and the ledger drops its kept copy with it.
    expect(await deps.ledger.acknowledge(done.id, bob, TEST_RECEIPT)).toMatchObject({ ok: true, remaining: 0 });
    expect(await deps.ledger.published(done.id)).toBeNull();
    await map(groupId).syncMapItems(pending.id).remove();
    await map(groupId).syncMapItems(done.id).remove();

    await reconcile(deps, 0, soon());
    expect(await itemData(groupId, pending.id)).toEqual(pending.item);
    expect(await itemData(groupId, done.id)).toBeNull();
    expect(await healEntries(groupId)).toEqual([
      expect.objectContaining({ what: 'item', itemKey: pending.id, trigger: 'reconcile' }),
    ]);
  });

  it('leaves items younger than the grace period to the normal publish path', async () => {
    const groupId = await readyGroup();
    const { id } = await pendingPointer(groupId);
    await map(groupId).syncMapItems(id).remove();
    await reconcile(deps, 3600, new Date());
    expect(await itemData(groupId, id)).toBeNull();
  });

  it('a publish Sync keeps refusing (429) answers RATE_LIMITED; the pointer stays pending and the reconciler publishes it', async () => {
    const groupId = await readyGroup();
    const id = await registered(groupId);
    const registry = new PointerRegistry({
      ...deps,
      devices: {} as DeviceRepository, // publish never reads devices
      itemTtlSeconds: 3600,
    });
    const reg = {
      pointerId: id,
      groupId,
      syncMap: syncMapOf(groupId),
      itemKey: id,
      itemTtlSeconds: 3600,
      expected: [bob],
      state: 'pending' as const,
      createdAt: new Date(Date.now() - 60_000).toISOString(),
    };
    const item = {
      v: 1 as const,
      kind: 'file' as const,
      id,
      groupId,
      sender: alice,
      objectId: hex(),
      size: 1,
      envelope: 'AA',
      createdAt: reg.createdAt,
    };
    emu.faults.setRateLimit({ perSecond: 1, burst: 1 });
    try {
      await deps.syncAdmin.setMapItem(syncMapOf(groupId), 'filler', {}, 60); // spends the burst
      // No time to wait out the limit: the first 429 is the answer.
      const err = await registry.publish(reg, item, { budgetMs: 0, baseMs: 10, maxMs: 10 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { retryAfterSeconds: 1 } });
    } finally {
      emu.faults.setRateLimit({ perSecond: 20, burst: 20 });
    }
    expect(await itemData(groupId, id)).toBeNull();
    expect((await deps.ledger.published(id))?.state).toBe('pending');

    await reconcile(deps, 0, soon());
    expect(await itemData(groupId, id)).toMatchObject({ kind: 'file', id, groupId });
    expect(await healEntries(groupId)).toEqual([
      expect.objectContaining({ what: 'item', itemKey: id, trigger: 'reconcile' }),
    ]);
  });
});
