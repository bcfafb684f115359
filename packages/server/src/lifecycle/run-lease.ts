import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../adapters/redis/connection.js';
import { defineScripts } from '../redis/script-loader.js';

/** Long enough to survive a slow Redis round trip; renewed at a third of it while the run lives. */
const LEASE_MS = 60_000;

/**
 * One holder at a time across every process (a retention run): BullMQ's scheduler starts the next
 * run when the previous one starts, so a run longer than the interval, or `admin retention-run`
 * beside the worker, would otherwise overlap. A holder that dies lets the lease expire.
 */
export class RunLease {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {
    this.scripts = defineScripts(redis, 'leaseRenew', 'leaseRelease');
  }

  /** Runs `work` holding the lease; null without running it when another holder has it. */
  async hold<T>(work: () => Promise<T>): Promise<T | null> {
    const token = randomUUID();
    if ((await this.redis.set(this.key, token, 'PX', LEASE_MS, 'NX')) !== 'OK') return null;
    const timer = setInterval(() => {
      this.scripts.leaseRenew([this.key], [token, LEASE_MS]).catch(() => {});
    }, LEASE_MS / 3);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await this.scripts.leaseRelease([this.key], [token]).catch(() => {});
    }
  }
}
