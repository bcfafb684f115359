import { describe, expect, it } from 'vitest';
import { SyncApiError } from './errors.js';
import { DEFAULT_SYNC_WRITE_LIMIT, WriteLimiter, writeLimitFromEnv } from './write-limit.js';

/** Status and Retry-After of a refused write; null when it was accepted. */
function tryWrite(limiter: WriteLimiter, sid: string): { status: number; retryAfter?: string } | null {
  try {
    limiter.consume(sid);
    return null;
  } catch (err) {
    if (!(err instanceof SyncApiError)) throw err;
    return { status: err.status, retryAfter: err.headers['Retry-After'] };
  }
}

describe('Sync write limit (token bucket per object)', () => {
  it('accepts a burst, refuses the next write with 429 and Retry-After, refills at the rate', () => {
    let now = 0;
    const limiter = new WriteLimiter({ perSecond: 20, burst: 20 }, () => now);
    for (let i = 0; i < 20; i += 1) expect(tryWrite(limiter, 'MP1')).toBeNull();
    expect(tryWrite(limiter, 'MP1')).toEqual({ status: 429, retryAfter: '1' });
    expect(tryWrite(limiter, 'MP2')).toBeNull(); // per object
    now += 100; // two writes' worth
    expect(tryWrite(limiter, 'MP1')).toBeNull();
    expect(tryWrite(limiter, 'MP1')).toBeNull();
    expect(tryWrite(limiter, 'MP1')?.status).toBe(429);
    expect(limiter.refused).toBe(2);
    now += 10_000; // idle: full again, never more than the burst
    for (let i = 0; i < 20; i += 1) expect(tryWrite(limiter, 'MP1')).toBeNull();
    expect(tryWrite(limiter, 'MP1')?.status).toBe(429);
  });

  it('reads the environment: Twilio’s default, a rate (burst = rate), a burst, off; refuses nonsense', () => {
    expect(writeLimitFromEnv({})).toEqual(DEFAULT_SYNC_WRITE_LIMIT);
    expect(writeLimitFromEnv({ CONDUIT_STACK_SYNC_WRITES_PER_SECOND: '50' })).toEqual({ perSecond: 50, burst: 50 });
    expect(writeLimitFromEnv({ CONDUIT_STACK_SYNC_WRITE_BURST: '200' })).toEqual({ perSecond: 20, burst: 200 });
    expect(writeLimitFromEnv({ CONDUIT_STACK_SYNC_WRITES_PER_SECOND: 'off' })).toBeNull();
    expect(() => writeLimitFromEnv({ CONDUIT_STACK_SYNC_WRITES_PER_SECOND: '0' })).toThrow(RangeError);
    expect(() => writeLimitFromEnv({ CONDUIT_STACK_SYNC_WRITE_BURST: '1.5' })).toThrow(RangeError);
  });
});
