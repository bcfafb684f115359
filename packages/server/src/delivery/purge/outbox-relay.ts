import type { Queue } from 'bullmq';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Logger } from 'pino';
import { SHARDS, type Keys } from '../../adapters/redis/keys.js';
import type { PointerLedger } from '../../adapters/redis/pointers.js';
import { defineScripts } from '../../redis/script-loader.js';
import { PURGE_JOB, purgeJobOptions, type PurgeJobData, type PurgeTuning } from './queue.js';

/** How long the relay waits for a wake-up before it looks at every shard's outbox anyway. */
const WAKE_BLOCK_SECONDS = 1;
const ERROR_PAUSE_MS = 1000;
/** Ids forwarded per shard and round of Redis calls: a burst of last-acks costs a few round trips, not a few per id. */
export const RELAY_BATCH = 200;
/**
 * How often a running relay re-drives the shared processing lists. An id stays there only while
 * one relay forwards it (milliseconds), so what is left longer belongs to a relay that died; with
 * several worker processes no restart may come to re-drive it, so every live relay does.
 */
export const DEFAULT_REDRIVE_INTERVAL_MS = 10_000;

/**
 * Moves pointer ids from the Redis outboxes (one per key shard, filled by the ledger scripts) into
 * BullMQ, in batches. Each id is moved atomically to its shard's processing list first and removed
 * from it only after BullMQ has the job, so a crash at any point leaves the id somewhere it will be
 * re-driven from; duplicates are absorbed by jobId = pointerId. The ledger pushes a wake-up after
 * each transition to 'purging' (outboxes of different shards cannot be blocked on together on a
 * Redis Cluster); without one the relay still looks every WAKE_BLOCK_SECONDS.
 */
export class OutboxRelay {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly scripts;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      /** Dedicated connection: BLPOP blocks it. */
      blocking: RedisClient;
      keys: Keys;
      ledger: PointerLedger;
      queue: Queue<PurgeJobData>;
      tuning: PurgeTuning;
      logger: Logger;
      redriveIntervalMs?: number;
    },
  ) {
    this.scripts = defineScripts(deps.redis, 'outboxTake');
  }

  async start(): Promise<void> {
    await this.redrive();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Interrupts a pending BLPOP; the loop sees `stopped` and exits.
    this.deps.blocking.disconnect();
    await this.loop;
  }

  /**
   * Forwards everything in the processing lists: a crashed relay's leftovers, and possibly ids
   * another relay is forwarding right now (the job id absorbs that duplicate).
   */
  async redrive(): Promise<number> {
    const { redis, keys } = this.deps;
    let count = 0;
    for (const shard of SHARDS) {
      const pending = (await redis.lrange(keys.outboxProcessing(shard), 0, -1)).reverse();
      for (let i = 0; i < pending.length; i += RELAY_BATCH)
        await this.forward([{ shard, ids: pending.slice(i, i + RELAY_BATCH) }]);
      count += pending.length;
    }
    return count;
  }

  /** Takes a batch from every shard's outbox and forwards them together; how many ids moved. */
  private async drain(): Promise<number> {
    const { keys } = this.deps;
    const taken = await Promise.all(
      SHARDS.map(async (shard) => ({
        shard,
        ids: await this.scripts.outboxTake([keys.outbox(shard), keys.outboxProcessing(shard)], [RELAY_BATCH]),
      })),
    );
    const batches = taken.filter((b) => b.ids.length > 0);
    if (batches.length > 0) await this.forward(batches);
    return batches.reduce((n, b) => n + b.ids.length, 0);
  }

  private async run(): Promise<void> {
    const { blocking, keys, logger } = this.deps;
    const redriveEveryMs = this.deps.redriveIntervalMs ?? DEFAULT_REDRIVE_INTERVAL_MS;
    let lastRedrive = Date.now();
    while (!this.stopped) {
      try {
        if (Date.now() - lastRedrive >= redriveEveryMs) {
          lastRedrive = Date.now();
          await this.redrive();
        }
        if ((await this.drain()) > 0) continue;
        // Nothing waiting: sleep until a wake-up (or the next look, or the next re-drive).
        const blockSeconds = Math.max(0.01, Math.min(WAKE_BLOCK_SECONDS, redriveEveryMs / 1000));
        if ((await blocking.blpop(keys.outboxWake(), blockSeconds)) !== null)
          await this.deps.redis.del(keys.outboxWake());
      } catch (err) {
        if (this.stopped) break;
        logger.error({ err }, 'outbox relay failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        await this.redrive().catch((e: unknown) => logger.error({ err: e }, 'outbox re-drive failed'));
      }
    }
  }

  /**
   * Queues the batches' ids as jobs, one shard's after another's in turn: a shard's outbox holds
   * runs of the same few groups (its share of them), which back to back would meet their Sync
   * Maps' token buckets empty and be deferred. Then takes the ids off the processing lists.
   */
  private async forward(batches: readonly { shard: number; ids: readonly string[] }[]): Promise<void> {
    const { redis, keys, ledger, queue, tuning, logger } = this.deps;
    const pointerIds = interleave(batches.map((b) => b.ids));
    const groupIds = await ledger.groupsOf(pointerIds);
    const jobs = [];
    for (const [i, pointerId] of pointerIds.entries()) {
      const groupId = groupIds[i];
      if (groupId) {
        jobs.push({ name: PURGE_JOB, data: { pointerId, groupId }, opts: purgeJobOptions(pointerId, tuning) });
      } else {
        // The ledger entry expired: the Sync item's TTL has long removed it too.
        logger.warn({ pointerId }, 'outbox entry without ledger record dropped');
      }
    }
    if (jobs.length > 0) await queue.addBulk(jobs);
    // One pipeline per shard: a pipeline stays in one slot on a Redis Cluster.
    const replies = await Promise.all(
      batches.map(({ shard, ids }) => {
        const processing = keys.outboxProcessing(shard);
        return redis.pipeline(ids.map((id) => ['lrem', processing, 1, id])).exec();
      }),
    );
    const failed = replies.flatMap((r) => r ?? []).find(([err]) => err);
    if (failed) throw failed[0];
  }
}

/** The lists' items round-robin: the first of each, then the second of each, and so on. */
function interleave<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i += 1) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}
