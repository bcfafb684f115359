import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Keys } from '../redis/keys.js';
import type { PointerLedger } from '../redis/pointers.js';
import { PURGE_JOB, purgeJobOptions, type PurgeJobData, type PurgeTuning } from './queue.js';

const BLOCK_SECONDS = 5;
const ERROR_PAUSE_MS = 1000;

/**
 * Moves pointer ids from the Redis outbox (filled by the ack script) into BullMQ. Each id is moved
 * atomically to a processing list first and removed from it only after BullMQ has the job, so a
 * crash at any point leaves the id somewhere it will be re-driven from; duplicates are absorbed by
 * jobId = pointerId.
 */
export class OutboxRelay {
  private stopped = false;
  private loop: Promise<void> | undefined;

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
    },
  ) {}

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

  /** Forwards everything left in the processing list by a previous (crashed) run. */
  async redrive(): Promise<number> {
    const { redis, keys } = this.deps;
    const pending = await redis.lrange(keys.outboxProcessing(), 0, -1);
    for (const pointerId of pending.reverse()) await this.forward(pointerId);
    return pending.length;
  }

  private async run(): Promise<void> {
    const { blocking, keys, logger } = this.deps;
    while (!this.stopped) {
      try {
        const pointerId = await blocking.blmove(keys.outbox(), keys.outboxProcessing(), 'RIGHT', 'LEFT', BLOCK_SECONDS);
        if (pointerId !== null) await this.forward(pointerId);
      } catch (err) {
        if (this.stopped) break;
        logger.error({ err }, 'outbox relay failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        await this.redrive().catch((e: unknown) => logger.error({ err: e }, 'outbox re-drive failed'));
      }
    }
  }

  private async forward(pointerId: string): Promise<void> {
    const { redis, keys, ledger, queue, tuning, logger } = this.deps;
    const groupId = await ledger.groupOf(pointerId);
    if (groupId === null) {
      // The ledger entry expired: the Sync item's TTL has long removed it too.
      logger.warn({ pointerId }, 'outbox entry without ledger record dropped');
    } else {
      await queue.add(PURGE_JOB, { pointerId, groupId }, purgeJobOptions(pointerId, tuning));
    }
    await redis.lrem(keys.outboxProcessing(), 1, pointerId);
  }
}
