import { ConduitError } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

// KEYS: identity counter, address counter. ARGV: window ms, identity limit, address limit. Both
// fixed windows count the attempt; returns 0 if both are within limits, else the ms to wait.
const TAKE = `
local wait = 0
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  if n > tonumber(ARGV[i + 1]) then wait = math.max(wait, redis.call('PTTL', KEYS[i])) end
end
return wait
`;

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
  private readonly takeScript;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly limits: AuthRateLimits,
  ) {
    this.takeScript = defineScript<number>(redis, 'conduitAuthRate', 2, TAKE);
  }

  /** Throws RATE_LIMITED (details.retryAfterSeconds, sent as Retry-After) once either limit is spent. */
  async take(identity: string, address: string): Promise<void> {
    const wait = await this.takeScript(
      [this.keys.authAttempts('id', identity.toLowerCase()), this.keys.authAttempts('addr', address)],
      [this.limits.windowSeconds * 1000, this.limits.attemptsPerIdentity, this.limits.attemptsPerAddress],
    );
    if (wait > 0) {
      throw new ConduitError('RATE_LIMITED', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) });
    }
  }
}
