/**
 * Twilio Sync's per-object write limit, applied by default: "up to 20/s per object, burst window
 * 10 s" (twilio.com/docs/sync/limits), item writes and deletes counting against their Map or List,
 * answered 429 / 54009. Twilio does not say how far a burst may exceed the sustained rate; the
 * emulator is a token bucket of `burst` writes refilled at `perSecond`, by default one second's
 * worth (stricter than the real service may be, so Conduit's backoff is exercised locally).
 */
import { rateLimited } from './errors.js';

export interface SyncWriteLimit {
  /** Sustained writes per second per object. */
  perSecond: number;
  /** Writes an idle object accepts at once (the bucket's size). */
  burst: number;
}

export const DEFAULT_SYNC_WRITE_LIMIT: SyncWriteLimit = { perSecond: 20, burst: 20 };

/** `CONDUIT_STACK_SYNC_WRITES_PER_SECOND` ("off" = unlimited) and `CONDUIT_STACK_SYNC_WRITE_BURST`. */
export const SYNC_WRITE_RATE_ENV = 'CONDUIT_STACK_SYNC_WRITES_PER_SECOND';
export const SYNC_WRITE_BURST_ENV = 'CONDUIT_STACK_SYNC_WRITE_BURST';

const MAX_LIMIT = 1_000_000;

export function checkWriteLimit(limit: SyncWriteLimit | null): SyncWriteLimit | null {
  if (limit === null) return null;
  for (const n of [limit.perSecond, limit.burst]) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw new RangeError(`Sync write limits must be integers from 1 to ${MAX_LIMIT}`);
    }
  }
  return { perSecond: limit.perSecond, burst: limit.burst };
}

/** The limit the environment asks for (the default when unset; null for "off"). */
export function writeLimitFromEnv(env: NodeJS.ProcessEnv = process.env): SyncWriteLimit | null {
  const rate = env[SYNC_WRITE_RATE_ENV]?.trim();
  if (rate === 'off') return null;
  const burst = env[SYNC_WRITE_BURST_ENV]?.trim();
  const perSecond = rate ? Number(rate) : DEFAULT_SYNC_WRITE_LIMIT.perSecond;
  try {
    // Without an explicit burst, one second's worth of the rate asked for.
    return checkWriteLimit({ perSecond, burst: burst ? Number(burst) : perSecond });
  } catch {
    throw new RangeError(
      `${SYNC_WRITE_RATE_ENV} must be "off" or 1-${MAX_LIMIT}, ${SYNC_WRITE_BURST_ENV} 1-${MAX_LIMIT}`,
    );
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Idle buckets are full again; forgetting them bounds memory. */
const SWEEP_EVERY = 1_000;

export class WriteLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private writes = 0;
  /** Writes answered 429 so far (benches and tests report it). */
  refused = 0;

  private limit: SyncWriteLimit | null;

  constructor(
    limit: SyncWriteLimit | null,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = checkWriteLimit(limit);
  }

  set(limit: SyncWriteLimit | null): void {
    this.limit = checkWriteLimit(limit);
    this.buckets.clear();
  }

  /** Counts one write against `objectSid`; throws 429 / 54009 with Retry-After when its bucket is empty. */
  consume(objectSid: string): void {
    const limit = this.limit;
    if (limit === null) return;
    const now = this.now();
    if (++this.writes % SWEEP_EVERY === 0) this.sweep(now, limit);
    const b = this.buckets.get(objectSid) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    this.buckets.set(objectSid, b);
    if (b.tokens < 1) {
      this.refused += 1;
      const waitMs = ((1 - b.tokens) / limit.perSecond) * 1000;
      throw rateLimited(Math.max(1, Math.ceil(waitMs / 1000)));
    }
    b.tokens -= 1;
  }

  private sweep(now: number, limit: SyncWriteLimit): void {
    const full = (limit.burst / limit.perSecond) * 1000;
    for (const [sid, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(sid);
  }
}
