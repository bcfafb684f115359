import { ConduitError } from '@conduit/shared';
import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { defineScripts } from '../../redis/script-loader.js';

export interface AuthRateLimits {
  attemptsPerIdentity: number;
  attemptsPerAddress: number;
  windowSeconds: number;
}

export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = {
  attemptsPerIdentity: 20,
  attemptsPerAddress: 200,
  windowSeconds: 300,
};

/**
 * Password attempts per identity and per client address, shared by every API process. Counted
 * whether or not the identity exists, so the limiter is no existence oracle either.
 */
export class AuthRateLimiter {
  private readonly scripts;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly limits: AuthRateLimits,
  ) {
    this.scripts = defineScripts(redis, 'authRate');
  }

  /** Throws RATE_LIMITED (details.retryAfterSeconds, sent as Retry-After) once either limit is spent. */
  async take(identity: string, address: string): Promise<void> {
    // Both fixed windows count the attempt (authRate-2.lua).
    const wait = await this.scripts.authRate(
      [this.keys.authAttempts('id', identity.toLowerCase()), this.keys.authAttempts('addr', address)],
      [this.limits.windowSeconds * 1000, this.limits.attemptsPerIdentity, this.limits.attemptsPerAddress],
    );
    if (wait > 0) {
      throw new ConduitError('RATE_LIMITED', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) });
    }
  }
}
