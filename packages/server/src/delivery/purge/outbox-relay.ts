import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Keys } from '../../adapters/redis/keys.js';
import type { PointerLedger } from '../../adapters/redis/pointers.js';
import { defineScripts } from '../../redis/script-loader.js';
import { PURGE_JOB, purgeJobOptions, type PurgeJobData, type PurgeTuning } from './queue.js';

const BLOCK_SECONDS = 5;
const ERROR_PAUSE_MS = 1000;
/** Ids forwarded per round of Redis calls: a burst of last-acks costs four round trips, not four per id. */
export const RELAY_BATCH = 200;
/**
 * How often a running relay re-drives the shared processing list. An id stays there only while
 * one relay forwards it (milliseconds), so what is left longer belongs to a relay that died; with
 * several worker processes no restart may come to re-drive it, so every live relay does.
 */
export const DEFAULT_REDRIVE_INTERVAL_MS = 10_000;

/**
 * Moves pointer ids from the Redis outbox (filled by the ack script) into BullMQ, in batches. Each
 * id is moved atomically to a processing list first and removed from it only after BullMQ has the
 * job, so a crash at any point leaves the id somewhere it will be re-driven from; duplicates are
 * absorbed by jobId = pointerId.
 */
export class OutboxRelay {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly scripts;

  constructor(
    private readonly deps: {
      redis: Redis;
      /** Dedicated connection: BLMOVE blocks it. */
      blocking: Redis;
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
    // Interrupts a pending BLMOVE; the loop sees `stopped` and exits.
    this.deps.blocking.disconnect();
    await this.loop;
  }

  /**
   * Forwards everything in the processing list: a crashed relay's leftovers, and possibly ids
   * another relay is forwarding right now (the job id absorbs that duplicate).
   */
  async redrive(): Promise<number> {
    const { redis, keys } = this.deps;
    const pending = (await redis.lrange(keys.outboxProcessing(), 0, -1)).reverse();
    for (let i = 0; i < pending.length; i += RELAY_BATCH) await this.forward(pending.slice(i, i + RELAY_BATCH));
    return pending.length;
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
        // Block until one id arrives (or the next re-drive is due), then take whatever else is waiting.
        const blockSeconds = Math.max(0.01, Math.min(BLOCK_SECONDS, redriveEveryMs / 1000));
        const first = await blocking.blmove(keys.outbox(), keys.outboxProcessing(), 'RIGHT', 'LEFT', blockSeconds);
        if (first === null) continue;
        const more = await this.scripts.outboxTake([keys.outbox(), keys.outboxProcessing()], [RELAY_BATCH - 1]);
        await this.forward([first, ...more]);
      } catch (err) {
        if (this.stopped) break;
        logger.error({ err }, 'outbox relay failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        await this.redrive().catch((e: unknown) => logger.error({ err: e }, 'outbox re-drive failed'));
      }
    }
  }

  private async forward(pointerIds: string[]): Promise<void> {
    const { redis, keys, ledger, queue, tuning, logger } = this.deps;
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
    const replies = await redis.pipeline(pointerIds.map((id) => ['lrem', keys.outboxProcessing(), 1, id])).exec();
    const failed = replies?.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
