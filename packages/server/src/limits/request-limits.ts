import { ConduitError } from '@conduit/shared';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys, RateLimitSubject } from '../adapters/redis/keys.js';

/** Requests per window; every API process counts in the same Redis keys. */
export interface RequestLimitSettings {
  /** Requests of one authenticated identity (all its devices together). */
  perIdentity: number;
  /** Requests to /v1 from one client address, authenticated or not. */
  perAddress: number;
  /** Requests to the unauthenticated /v1/auth routes from one client address. */
  anonymousPerAddress: number;
  windowSeconds: number;
}

/**
 * Per minute: an identity may make 100 requests a second on average (a device putting 1,000
 * records a second sends a batch every ~10 ms: issue 14's records rate; a send is 2-3 requests and
 * a receive 3-4 per file), an address twice that (several people behind one NAT), and an address
 * 5 sign-up or login flows (2 requests each) a second on the routes that need no session.
 */
export const DEFAULT_REQUEST_LIMITS: RequestLimitSettings = {
  perIdentity: 6000,
  perAddress: 12000,
  anonymousPerAddress: 600,
  windowSeconds: 60,
};

export type LimiterName = 'identity' | 'address' | 'anonymous';

/**
 * Inbound rate limits (fixed windows in Redis, rate-limiter-flexible). A subject over its budget is
 * also blocked in this process's memory until its window ends, so a flood costs no Redis calls.
 */
export class RequestLimits {
  private readonly limiters: Record<LimiterName, RateLimiterRedis>;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    settings: RequestLimitSettings,
  ) {
    const limiter = (points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: keys.rateLimitPrefix(),
        points,
        duration: settings.windowSeconds,
        inMemoryBlockOnConsumed: points + 1,
      });
    this.limiters = {
      identity: limiter(settings.perIdentity),
      address: limiter(settings.perAddress),
      anonymous: limiter(settings.anonymousPerAddress),
    };
  }

  /** Counts one request; RATE_LIMITED (details.retryAfterSeconds and the limiter) once over budget. */
  async take(name: LimiterName, subject: RateLimitSubject): Promise<void> {
    try {
      await this.limiters[name].consume(this.keys.rateLimitKey(name, subject));
    } catch (err) {
      // The library rejects with its result when over the limit, with an Error when Redis failed
      // (left to the error handler: a 503 like any Redis outage).
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new ConduitError('RATE_LIMITED', 'Too many requests; wait and try again.', {
        retryAfterSeconds,
        limit: name,
      });
    }
  }
}
