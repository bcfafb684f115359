import { TEST_BINDING, TEST_RECEIPT } from '../../testing/ledger.js';
import { randomBytes } from 'node:crypto';
import { syncMapOf } from '@conduit/shared';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeys, shardOf, SHARDS } from '../../adapters/redis/keys.js';
import { PointerLedger } from '../../adapters/redis/pointers.js';
import { SyncWriteBudget } from '../../adapters/redis/token-bucket.js';
import { FakeSyncAdmin, TEST_REDIS_URL, deleteKeys, eventually, randomKeyPrefix } from '../../testing/fakes.js';
import { safeObserver } from '../events.js';
import { createPurgeWorker } from './purge-worker.js';
import { OutboxRelay, RELAY_BATCH } from './outbox-relay.js';
import {
  DEFAULT_PURGE_WORKER_OPTIONS,
  PURGE_QUEUE,
  jitteredBackoff,
  type PurgeJobData,
  type PurgeTuning,
  type PurgeWorkerOptions,
} from './queue.js';

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const tuning: PurgeTuning = { attempts: 10, backoffBaseMs: 20, backoffMaxMs: 100 };
const logger = pino({ level: 'silent' });
const hex = () => randomBytes(16).toString('hex');
const sender = { identity: 'alice', deviceId: 'alice-dev-1' };
const recipient = { identity: 'bob', deviceId: 'bob-dev-01' };

let redis: Redis;
let ledger: PointerLedger;
let queue: Queue<PurgeJobData>;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  ledger = new PointerLedger(redis, keys);
  queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection: redis, prefix: keys.bullPrefix() });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await queue.close();
  await deleteKeys(prefix);
  await redis.quit();
});

/** A pointer whose only recipient acked: state 'purging', id in the outbox. */
async function ackedPointer(): Promise<{ pointerId: string; groupId: string }> {
  const pointerId = hex();
  const groupId = hex();
  await ledger.register({
    pointerId,
    groupId,
    sender,
    expected: [recipient],
    createdAt: new Date(),
    retentionSeconds: 600,
    binding: TEST_BINDING,
    epoch: await ledger.epochOf(groupId),
  });
  expect(await ledger.acknowledge(pointerId, recipient, TEST_RECEIPT)).toEqual({
    ok: true,
    remaining: 0,
    firstAck: true,
  });
  return { pointerId, groupId };
}

function startWorker(syncAdmin: FakeSyncAdmin, options?: Partial<PurgeWorkerOptions>): Worker {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const worker = createPurgeWorker({
    ...(options ? { options } : {}),
    connection,
    prefix: keys.bullPrefix(),
    syncAdmin,
    ledger,
    budget: new SyncWriteBudget(redis, keys, 1000),
    observer: safeObserver(undefined, logger),
    tuning,
    logger,
  });
  cleanups.push(async () => {
    await worker.close();
    await connection.quit();
  });
  return worker;
}

async function startRelay(redriveIntervalMs?: number): Promise<OutboxRelay> {
  const blocking = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const relay = new OutboxRelay({
    redis,
    blocking,
    keys,
    ledger,
    queue,
    tuning,
    logger,
    ...(redriveIntervalMs === undefined ? {} : { redriveIntervalMs }),
  });
  await relay.start();
  cleanups.push(() => relay.stop());
  return relay;
}

const purged = (pointerId: string) => async () => {
  const status = await ledger.get(pointerId);
  return status?.state === 'purged' ? status : undefined;
};

/** The purge job once BullMQ has recorded it completed (the ledger turns 'purged' just before that). */
const completed = (pointerId: string) => async () => {
  const job = await queue.getJob(pointerId);
  return job && (await job.getState()) === 'completed' ? job : undefined;
};

describe('purge worker', () => {
  it('retries a failing Sync delete with backoff until it succeeds, then marks the pointer purged', async () => {
    const syncAdmin = new FakeSyncAdmin();
    syncAdmin.removeScript.push(new Error('twilio 503'), new Error('twilio 503'), 'removed');
    const { pointerId, groupId } = await ackedPointer();
    startWorker(syncAdmin);
    await startRelay();

    const status = await eventually(purged(pointerId));
    expect(status.purgedAt).toBeDefined();
    expect(syncAdmin.removeCalls).toEqual(Array(3).fill({ map: syncMapOf(groupId), key: pointerId }));
    const job = await eventually(completed(pointerId));
    expect(job.attemptsMade).toBe(3);
    expect(job.returnvalue).toBe('removed');
  });

  it('counts an already-absent item as done', async () => {
    const syncAdmin = new FakeSyncAdmin();
    syncAdmin.removeScript.push('absent');
    const { pointerId } = await ackedPointer();
    startWorker(syncAdmin);
    await startRelay();

    await eventually(purged(pointerId));
    expect(syncAdmin.removeCalls).toHaveLength(1);
    expect((await eventually(completed(pointerId))).returnvalue).toBe('absent');
  });

  it('takes its concurrency, lock and stall check from the options, else the defaults', () => {
    const tuned = startWorker(new FakeSyncAdmin(), { concurrency: 3, lockDurationMs: 1500, stalledIntervalMs: 700 });
    expect(tuned.opts).toMatchObject({ concurrency: 3, lockDuration: 1500, stalledInterval: 700 });
    const plain = startWorker(new FakeSyncAdmin());
    expect(plain.opts).toMatchObject({
      concurrency: DEFAULT_PURGE_WORKER_OPTIONS.concurrency,
      lockDuration: DEFAULT_PURGE_WORKER_OPTIONS.lockDurationMs,
      stalledInterval: DEFAULT_PURGE_WORKER_OPTIONS.stalledIntervalMs,
    });
  });

  it('uses jittered exponential backoff bounded by the maximum', () => {
    const low = jitteredBackoff({ attempts: 10, backoffBaseMs: 1000, backoffMaxMs: 60_000 }, () => 0);
    const high = jitteredBackoff({ attempts: 10, backoffBaseMs: 1000, backoffMaxMs: 60_000 }, () => 1);
    expect([1, 2, 3].map(low)).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map(high)).toEqual([1000, 2000, 4000]);
    expect(high(20)).toBe(60_000);
  });
});

describe('outbox relay', () => {
  /** Ids waiting in one kind of list, over every shard. */
  const waiting = async (list: (shard: number) => string): Promise<number> =>
    (await Promise.all(SHARDS.map((shard) => redis.llen(list(shard))))).reduce((a, b) => a + b, 0);

  it('re-drives an entry left in the processing list by a crashed relay, exactly once', async () => {
    const { pointerId, groupId } = await ackedPointer();
    const shard = shardOf(groupId);
    // Simulate a crash after the move to the processing list and before the job was added.
    expect(await redis.lmove(keys.outbox(shard), keys.outboxProcessing(shard), 'RIGHT', 'LEFT')).toBe(pointerId);
    expect(await queue.getJob(pointerId)).toBeUndefined();

    await startRelay();
    const job = await queue.getJob(pointerId);
    expect(job?.data).toMatchObject({ pointerId });
    expect(await redis.llen(keys.outboxProcessing(shard))).toBe(0);

    // A crash after the add but before LREM re-drives again: the job id absorbs the duplicate.
    await redis.lpush(keys.outboxProcessing(shard), pointerId);
    const second = await startRelay();
    expect(await second.redrive()).toBe(0);
    expect(await redis.llen(keys.outboxProcessing(shard))).toBe(0);
    expect(
      (await queue.getJobs(['waiting', 'delayed', 'active', 'completed'])).filter((j) => j.id === pointerId),
    ).toHaveLength(1);
  });

  it('re-drives, while running, what another relay left behind when it died (several worker processes)', async () => {
    await startRelay(200);
    const { pointerId, groupId } = await ackedPointer();
    await eventually(async () => (await queue.getJob(pointerId)) ?? undefined);
    // Another process's relay had moved the id to the processing list and died before BullMQ had
    // the job (no worker runs here, so removing the waiting job stands for "never added").
    await queue.remove(pointerId);
    await redis.lpush(keys.outboxProcessing(shardOf(groupId)), pointerId);
    const job = await eventually(async () => (await queue.getJob(pointerId)) ?? undefined);
    expect(job.data).toMatchObject({ pointerId });
    await eventually(async () => ((await waiting(keys.outboxProcessing)) === 0 ? true : undefined));
  });

  it('forwards a backlog larger than one batch, every id once, and empties both lists', async () => {
    const acked = await Promise.all(Array.from({ length: RELAY_BATCH + 50 }, () => ackedPointer()));
    await startRelay();
    await eventually(async () => ((await waiting(keys.outbox)) === 0 ? true : undefined));
    await eventually(async () => ((await waiting(keys.outboxProcessing)) === 0 ? true : undefined));
    const jobs = await Promise.all(acked.map(({ pointerId }) => queue.getJob(pointerId)));
    expect(jobs.map((j) => j?.data)).toEqual(acked);
  });

  it("queues the shards' batches interleaved: every shard's first id before any shard's second", async () => {
    const acked = await Promise.all(Array.from({ length: 80 }, () => ackedPointer()));
    await startRelay();
    await eventually(async () => ((await waiting(keys.outboxProcessing)) === 0 ? true : undefined));
    // Earlier tests' jobs wait in the same queue (no worker runs here): only this test's count.
    const ids = new Set(acked.map((p) => p.pointerId));
    const queued = (await queue.getJobs(['waiting'], 0, -1, true)).filter((j) => ids.has(j.id ?? ''));
    expect(queued).toHaveLength(acked.length);
    // The how-manieth of its shard each job is, in queue order: never smaller than the one before.
    const seen = new Map<number, number>();
    const rank = queued.map((j) => {
      const shard = shardOf(j.data.groupId);
      seen.set(shard, (seen.get(shard) ?? 0) + 1);
      return seen.get(shard)!;
    });
    expect(rank).toEqual([...rank].sort((a, b) => a - b));
    expect(Math.max(...rank)).toBeGreaterThan(1);
  });

  it('forwards new outbox entries while running', async () => {
    const relay = await startRelay();
    expect(await relay.redrive()).toBe(0);
    const { pointerId, groupId } = await ackedPointer();
    const job = await eventually(async () => (await queue.getJob(pointerId)) ?? undefined);
    expect(job.data).toEqual({ pointerId, groupId });
    expect(job.opts.attempts).toBe(10);
    expect(await redis.llen(keys.outbox(shardOf(groupId)))).toBe(0);
  });
});
