/**
 * Delivery guarantees against real parts: Redis, BullMQ, and the devstack Sync emulator through
 * the real TwilioSyncAdmin (twilio library). No mocks of Redis, BullMQ or Sync.
 */
import { TEST_BINDING, TEST_RECEIPT } from '../testing/ledger.js';
import { randomBytes } from 'node:crypto';
import { type Endpoint, syncMapOf, verifyLines } from '@conduit/shared';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSyncCredentials,
  startSyncEmulator,
  type SyncCredentials,
  type SyncEmulator,
  DEFAULT_SYNC_WRITE_LIMIT,
} from '@conduit/devstack';
import { LocalSyncHttpClient } from '../adapters/twilio/local-http-client.js';
import { TwilioSyncAdmin } from '../adapters/twilio/twilio-sync-admin.js';
import { AuditLog } from '../audit/audit-log.js';
import { GroupRepository } from '../adapters/redis/groups.js';
import { createKeys, shardOf } from '../adapters/redis/keys.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { SyncWriteBudget } from '../adapters/redis/token-bucket.js';
import { TEST_REDIS_URL, deleteKeys, eventually, randomKeyPrefix } from '../testing/fakes.js';
import { safeObserver, type DeliveryObserver } from './events.js';
import { reconcile, sweepExpired } from './purge/maintenance.js';
import { OutboxRelay } from './purge/outbox-relay.js';
import { createPurgeWorker } from './purge/purge-worker.js';
import { PURGE_QUEUE, type PurgeJobData, type PurgeTuning } from './purge/queue.js';

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const logger = pino({ level: 'silent' });
const hex = () => randomBytes(16).toString('hex');
const sender: Endpoint = { identity: 'alice', deviceId: 'alice-dev-1' };
const bob: Endpoint = { identity: 'bob', deviceId: 'bob-dev-01' };
const carol: Endpoint = { identity: 'carol', deviceId: 'carol-dev-1' };

let redis: Redis;
let ledger: PointerLedger;
let audit: AuditLog;
let queue: Queue<PurgeJobData>;
let creds: SyncCredentials;
let emu: SyncEmulator;
let admin: TwilioSyncAdmin;
let rest: ReturnType<typeof twilio>;
const cleanups: (() => Promise<void>)[] = [];

/** Records every hook call. */
class Recorder implements DeliveryObserver {
  readonly calls: { hook: string; e: Record<string, unknown> }[] = [];
  onPurged(e: object) {
    this.calls.push({ hook: 'purged', e: { ...e } });
  }
  onPurgeDeferred(e: object) {
    this.calls.push({ hook: 'deferred', e: { ...e } });
  }
  onPurgeFailed(e: object) {
    this.calls.push({ hook: 'failed', e: { ...e } });
  }
  count(hook: string, where: (e: Record<string, unknown>) => boolean = () => true): number {
    return this.calls.filter((c) => c.hook === hook && where(c.e)).length;
  }
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  ledger = new PointerLedger(redis, keys);
  audit = new AuditLog(redis, keys);
  queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection: redis, prefix: keys.bullPrefix() });
  creds = createSyncCredentials();
  emu = await startSyncEmulator(creds);
  admin = new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 });
  rest = twilio(creds.accountSid, creds.authToken, { httpClient: new LocalSyncHttpClient(emu.restUrl) });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  emu.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT); // Twilio's, as every test starts
  emu.faults.failNextRest(0, 500);
});

afterAll(async () => {
  await queue.close();
  await emu.close();
  await deleteKeys(prefix);
  await redis.quit();
});

const mapItems = (map: string) => rest.sync.v1.services(creds.serviceSid).syncMaps(map).syncMapItems;

async function publish(groupId: string, pointerId: string): Promise<void> {
  await admin.ensureMap(syncMapOf(groupId));
  await mapItems(syncMapOf(groupId)).create({ key: pointerId, data: { v: 1 }, itemTtl: 3600 });
}

async function itemExists(groupId: string, key: string): Promise<boolean> {
  try {
    await mapItems(syncMapOf(groupId))(key).fetch();
    return true;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return false;
    throw err;
  }
}

async function register(groupId: string, expected: Endpoint[] = [bob]): Promise<string> {
  const pointerId = hex();
  const outcome = await ledger.register({
    pointerId,
    groupId,
    sender,
    expected,
    createdAt: new Date(),
    retentionSeconds: 3600,
    binding: TEST_BINDING,
    epoch: await ledger.epochOf(groupId),
  });
  expect(outcome).toBe('created');
  return pointerId;
}

async function startPipeline(opts: { writesPerSecond?: number; tuning?: Partial<PurgeTuning> } = {}) {
  const recorder = new Recorder();
  const observer = safeObserver(recorder, logger);
  const tuning: PurgeTuning = { attempts: 5, backoffBaseMs: 20, backoffMaxMs: 100, ...opts.tuning };
  const budget = new SyncWriteBudget(redis, keys, opts.writesPerSecond ?? 1000);
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const blocking = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const worker: Worker = createPurgeWorker({
    connection,
    prefix: keys.bullPrefix(),
    syncAdmin: admin,
    ledger,
    budget,
    observer,
    tuning,
    logger,
  });
  const relay = new OutboxRelay({ redis, blocking, keys, ledger, queue, tuning, logger });
  await relay.start();
  cleanups.push(async () => {
    await relay.stop();
    await worker.close();
    await connection.quit();
  });
  return { recorder, observer, budget, tuning, worker };
}

const terminal = (pointerId: string) => async () => {
  const p = await ledger.get(pointerId);
  return p && ['purged', 'expired', 'failed'].includes(p.state) ? p : undefined;
};

async function receiptsFor(pointerId: string): Promise<Record<string, unknown>[]> {
  // Ledger transitions leave their entries pending; no sealer runs in this pipeline, so seal here.
  await audit.seal();
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines
    .map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry)
    .filter((e) => e.pointerId === pointerId);
}

describe('ack ledger', () => {
  it('refuses unknown pointers and non-recipients; the last ack moves the pointer to purging once', async () => {
    const groupId = hex();
    const pointerId = await register(groupId, [bob, carol]);
    expect(await ledger.acknowledge(hex(), bob, TEST_RECEIPT)).toEqual({ ok: false, reason: 'POINTER_NOT_FOUND' });
    expect(await ledger.acknowledge(pointerId, sender, TEST_RECEIPT)).toEqual({ ok: false, reason: 'NOT_A_RECIPIENT' });
    expect(await ledger.acknowledge(pointerId, bob, TEST_RECEIPT)).toEqual({ ok: true, remaining: 1, firstAck: true });
    expect(await ledger.acknowledge(pointerId, bob, TEST_RECEIPT)).toEqual({ ok: true, remaining: 1, firstAck: false });
    expect(await ledger.acknowledge(pointerId, carol, TEST_RECEIPT)).toEqual({
      ok: true,
      remaining: 0,
      firstAck: true,
    });
    expect(await ledger.acknowledge(pointerId, carol, TEST_RECEIPT)).toEqual({
      ok: true,
      remaining: 0,
      firstAck: false,
    });
    expect((await ledger.get(pointerId))?.state).toBe('purging');
    const shard = shardOf(groupId);
    expect((await redis.lrange(keys.outbox(shard), 0, -1)).filter((id) => id === pointerId)).toHaveLength(1);
    expect(await redis.zscore(keys.purgingPointers(shard), pointerId)).not.toBeNull();
    expect(await redis.zscore(keys.groupPending(groupId), pointerId)).toBeNull();
    await redis.lrem(keys.outbox(shard), 0, pointerId);
  });

  it('refuses a registration computed before a membership change (epoch)', async () => {
    const groupId = hex();
    const epoch = await ledger.epochOf(groupId);
    await redis.incr(keys.groupEpoch(groupId));
    const input = {
      pointerId: hex(),
      groupId,
      sender,
      expected: [bob],
      createdAt: new Date(),
      retentionSeconds: 60,
      binding: TEST_BINDING,
    };
    expect(await ledger.register({ ...input, epoch })).toBe('stale');
    expect(await ledger.register({ ...input, epoch: await ledger.epochOf(groupId) })).toBe('created');
  });

  it('drops a departed endpoint: a pointer waiting only on it goes to purge', async () => {
    const groupId = hex();
    const waitingOnCarol = await register(groupId, [bob, carol]);
    const waitingOnBoth = await register(groupId, [bob, carol]);
    await ledger.acknowledge(waitingOnCarol, bob, TEST_RECEIPT);
    const first = await ledger.dropEndpoints(waitingOnCarol, groupId, [carol], 'member-removed');
    const second = await ledger.dropEndpoints(waitingOnBoth, groupId, [carol], 'member-removed');
    expect(first).toEqual({ dropped: 1, purging: true });
    expect(second).toEqual({ dropped: 1, purging: false });
    const status = await ledger.get(waitingOnCarol);
    expect(status).toMatchObject({ state: 'purging', reason: 'member-removed', dropped: [carol] });
    expect(status?.expected).toEqual([bob, carol]);
    expect(await ledger.acknowledge(waitingOnBoth, carol, TEST_RECEIPT)).toEqual({
      ok: false,
      reason: 'NOT_A_RECIPIENT',
    });
    await redis.del(keys.outbox(shardOf(groupId)));
  });
});

describe('purge worker (Sync emulator)', () => {
  it('deletes the item after the last ack and writes a deletion receipt atomically with the state', async () => {
    const { recorder } = await startPipeline();
    const groupId = hex();
    const pointerId = await register(groupId, [bob, carol]);
    await publish(groupId, pointerId);
    await ledger.acknowledge(pointerId, bob, TEST_RECEIPT);
    await ledger.acknowledge(pointerId, carol, TEST_RECEIPT);
    const done = await eventually(terminal(pointerId));
    expect(done).toMatchObject({ state: 'purged', reason: 'acknowledged' });
    expect(done.purgedAt).toBeDefined();
    expect(await itemExists(groupId, pointerId)).toBe(false);
    const [receipt, ...more] = await receiptsFor(pointerId);
    expect(more).toHaveLength(0);
    expect(receipt).toMatchObject({
      type: 'deletion-receipt',
      groupId,
      reason: 'acknowledged',
      outcome: 'removed',
      acknowledgedBy: ['bob:bob-dev-01', 'carol:carol-dev-1'],
      neverAcknowledged: [],
    });
    expect(recorder.count('purged', (e) => e.pointerId === pointerId && typeof e.latencyMs === 'number')).toBe(1);
    expect(verifyLines(await redis.lrange(keys.auditLog(), 0, -1)).ok).toBe(true);
  });

  it('backs off on Sync 429 (Retry-After) without spending attempts', async () => {
    const { recorder } = await startPipeline({ tuning: { attempts: 1 } });
    const groupId = hex();
    const ids = await Promise.all(Array.from({ length: 5 }, () => register(groupId)));
    for (const id of ids) await publish(groupId, id);
    emu.faults.setRateLimit(2);
    for (const id of ids) await ledger.acknowledge(id, bob, TEST_RECEIPT);
    for (const id of ids) expect((await eventually(terminal(id), 20_000)).state).toBe('purged');
    expect(recorder.count('deferred', (e) => e.cause === 'rate-limited')).toBeGreaterThan(0);
    // attempts: 1, yet every job completed: the waits consumed none (the completion counts as the one).
    for (const id of ids) expect((await queue.getJob(id))?.attemptsMade).toBe(1);
  });

  it('keeps writes per map under the shared token bucket rate', async () => {
    const { recorder } = await startPipeline({ writesPerSecond: 5 });
    const groupId = hex();
    const ids = await Promise.all(Array.from({ length: 10 }, () => register(groupId)));
    for (const id of ids) await publish(groupId, id);
    // The bucket allows at most burst + rate = 10 writes in any 1 s window; Sync would refuse the 11th.
    emu.faults.setRateLimit(10);
    const started = Date.now();
    for (const id of ids) await ledger.acknowledge(id, bob, TEST_RECEIPT);
    for (const id of ids) expect((await eventually(terminal(id), 20_000)).state).toBe('purged');
    // 5 tokens of burst, then 5 more at 5/s: at least ~1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(recorder.count('deferred', (e) => e.cause === 'throttled')).toBeGreaterThan(0);
    expect(recorder.count('deferred', (e) => e.cause === 'rate-limited')).toBe(0);
  });

  it('retries 5xx with backoff, and a purge that runs out of attempts lands in failed with an audit entry', async () => {
    const { recorder } = await startPipeline({ tuning: { attempts: 3 } });
    const groupId = hex();
    const retried = await register(groupId);
    await publish(groupId, retried);
    emu.faults.failNextRest(2, 503);
    await ledger.acknowledge(retried, bob, TEST_RECEIPT);
    expect((await eventually(terminal(retried))).state).toBe('purged');
    // Two failed attempts, then the one that succeeded.
    expect((await queue.getJob(retried))?.attemptsMade).toBe(3);

    const doomed = await register(groupId);
    await publish(groupId, doomed);
    emu.faults.failNextRest(3, 500);
    await ledger.acknowledge(doomed, bob, TEST_RECEIPT);
    const failed = await eventually(terminal(doomed));
    expect(failed.state).toBe('failed');
    expect(failed.failedAt).toBeDefined();
    expect(await receiptsFor(doomed)).toEqual([
      expect.objectContaining({ type: 'purge-failed', code: 'DEPENDENCY_UNAVAILABLE', attempts: 3 }),
    ]);
    expect(recorder.count('failed', (e) => e.pointerId === doomed)).toBe(1);
    expect(await itemExists(groupId, doomed)).toBe(true);
    await mapItems(syncMapOf(groupId))(doomed).remove();
  });
});

describe('backstops', () => {
  it('the sweeper purges pointers past their maximum age as expired, naming who never acknowledged', async () => {
    const { observer } = await startPipeline();
    const groupId = hex();
    const pointerId = await register(groupId, [bob, carol]);
    await publish(groupId, pointerId);
    await ledger.acknowledge(pointerId, bob, TEST_RECEIPT);
    expect(await sweepExpired({ ledger, observer }, 3600)).toBe(0);
    expect(await sweepExpired({ ledger, observer }, 1, new Date(Date.now() + 5_000))).toBeGreaterThanOrEqual(1);
    const done = await eventually(terminal(pointerId));
    expect(done).toMatchObject({ state: 'expired', reason: 'expired' });
    expect(await itemExists(groupId, pointerId)).toBe(false);
    expect(await receiptsFor(pointerId)).toEqual([
      expect.objectContaining({
        reason: 'expired',
        acknowledgedBy: ['bob:bob-dev-01'],
        neverAcknowledged: ['carol:carol-dev-1'],
      }),
    ]);
  });

  it('the reconciler deletes stray items and re-enqueues purges whose job was lost', async () => {
    const { observer, budget, tuning } = await startPipeline();
    const groupId = hex();
    // A stray item nobody registered, and a registered one still pending (left alone).
    const stray = hex();
    await publish(groupId, stray);
    const pending = await register(groupId);
    await publish(groupId, pending);
    // A purge lost between the ledger and BullMQ: 'purging' but no outbox entry, no job.
    const lost = await register(groupId);
    await publish(groupId, lost);
    await redis.hset(keys.pointer(groupId, lost), 'state', 'purging', 'reason', 'acknowledged');
    await redis.zadd(keys.purgingPointers(shardOf(groupId)), Date.now() - 60_000, lost);

    const result = await reconcile(
      {
        syncAdmin: admin,
        ledger,
        budget,
        audit,
        queue,
        tuning,
        observer,
        logger,
        groups: new GroupRepository(redis, keys),
        itemTtlSeconds: 3600,
      },
      0,
      new Date(Date.now() + 1_000),
    );
    expect(result.orphansRemoved).toBeGreaterThanOrEqual(1);
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    expect(await itemExists(groupId, stray)).toBe(false);
    expect(await itemExists(groupId, pending)).toBe(true);
    expect((await eventually(terminal(lost))).state).toBe('purged');
    expect(await itemExists(groupId, lost)).toBe(false);
    const strayEntries = (await redis.lrange(keys.auditLog(), 0, -1)).filter((l) => l.includes(stray));
    expect(strayEntries.map((l) => JSON.parse(l).entry)).toEqual([
      expect.objectContaining({ type: 'stray-item-removed', itemKey: stray, ledgerState: 'none' }),
    ]);
  });
});
