import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';
import { defineScripts } from '../redis/script-loader.js';

/**
 * The retention job's deletes per second (config.retention.deletesPerSecond), one token bucket in
 * Redis shared by every worker (bucketTakeMany-1.lua, on Redis's clock), so S3 sees the same rate
 * however many workers run. Burst: one second's worth.
 */
export class DeleteBudget {
  private readonly scripts;
  private readonly burst: number;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly perSecond: number,
  ) {
    if (!(perSecond > 0)) throw new RangeError('perSecond must be positive');
    this.burst = Math.max(1, Math.floor(perSecond));
    this.scripts = defineScripts(redis, 'bucketTakeMany');
  }

  /** Waits until `n` deletions fit the budget (in bursts); rejects with the signal's reason once aborted. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    for (let left = n; left > 0;) {
      const chunk = Math.min(left, this.burst);
      signal?.throwIfAborted();
      const wait = await this.scripts.bucketTakeMany(
        [this.keys.retentionBucket()],
        [this.perSecond, this.burst, chunk],
      );
      if (wait === 0) left -= chunk;
      else await sleep(wait, signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
