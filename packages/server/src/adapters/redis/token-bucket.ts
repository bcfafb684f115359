import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { defineScripts } from '../../redis/script-loader.js';

/**
 * A token bucket per Sync object, shared by every worker through Redis (atomic Lua), so purges
 * stay under Twilio's per-object write rate however many workers run.
 */
export class SyncWriteBudget {
  private readonly scripts;
  private readonly burst: number;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly writesPerSecond: number,
    burst?: number,
  ) {
    if (!(writesPerSecond > 0)) throw new RangeError('writesPerSecond must be positive');
    this.burst = burst ?? Math.max(1, writesPerSecond);
    this.scripts = defineScripts(redis, 'bucketTake', 'bucketPause');
  }

  /**
   * 0 when the write may go ahead now, else how long to wait (ms) before asking again. The bucket
   * runs on Redis's clock, so every worker shares one time base.
   */
  async take(objectName: string): Promise<number> {
    return this.scripts.bucketTake([this.keys.syncBucket(objectName)], [this.writesPerSecond, this.burst]);
  }

  /** Holds every worker off the object for `ms` (Sync answered 429 with Retry-After). */
  async pause(objectName: string, ms: number): Promise<void> {
    await this.scripts.bucketPause(
      [this.keys.syncBucket(objectName)],
      [this.writesPerSecond, Math.max(0, Math.round(ms))],
    );
  }
}
