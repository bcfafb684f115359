/**
 * Fault injection for tests: Sync's per-object write rate limit, failing or slow REST responses,
 * and abrupt loss of every Twilsock connection.
 */
import { DEFAULT_SYNC_WRITE_LIMIT, WriteLimiter, type SyncWriteLimit } from './write-limit.js';
import { WriteStats, type SyncWriteStats } from './write-stats.js';

export type RestFailureStatus = 500 | 502 | 503 | 504;

export interface SyncFaults {
  /**
   * The per-object write limit (item writes and deletes count against the parent): a number is
   * that many writes per second with a burst of as many; null = unlimited. On by default.
   */
  setRateLimit(limit: number | SyncWriteLimit | null): void;
  /** How many writes the limit refused (429 / 54009) since the emulator started. */
  refusedWrites(): number;
  /** One object's write counters (by sid): accepted, refused, the most accepted in 1 s. */
  writeStats(objectSid: string): SyncWriteStats;
  /** The next `count` REST requests fail with `status`. */
  failNextRest(count: number, status: RestFailureStatus): void;
  /** The next `count` REST requests are answered `ms` late (then processed normally). */
  delayNextRest(count: number, ms: number): void;
  /** Closes every Twilsock WebSocket abruptly (no close frame). */
  dropSockets(): void;
}

const MAX_COUNT = 10_000;
const MAX_DELAY_MS = 120_000;

function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw new RangeError('count out of range');
  return count;
}

export class FaultState implements SyncFaults {
  private readonly limiter: WriteLimiter;
  private readonly stats = new WriteStats();
  private failures: { count: number; status: RestFailureStatus } = { count: 0, status: 500 };
  private delays = { count: 0, ms: 0 };

  constructor(
    private readonly dropAll: () => void,
    writeLimit: SyncWriteLimit | null = DEFAULT_SYNC_WRITE_LIMIT,
  ) {
    this.limiter = new WriteLimiter(writeLimit);
  }

  setRateLimit(limit: number | SyncWriteLimit | null): void {
    this.limiter.set(typeof limit === 'number' ? { perSecond: limit, burst: limit } : limit);
  }

  refusedWrites(): number {
    return this.limiter.refused;
  }

  writeStats(objectSid: string): SyncWriteStats {
    return this.stats.of(objectSid);
  }

  failNextRest(count: number, status: RestFailureStatus): void {
    if (![500, 502, 503, 504].includes(status)) throw new RangeError('status must be 500, 502, 503 or 504');
    this.failures = { count: checkCount(count), status };
  }

  delayNextRest(count: number, ms: number): void {
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) throw new RangeError('ms out of range');
    this.delays = { count: checkCount(count), ms };
  }

  dropSockets(): void {
    this.dropAll();
  }

  /** Counts one write against `objectSid`; throws 429 / 54009 with Retry-After when over the limit. */
  consumeWrite(objectSid: string): void {
    try {
      this.limiter.consume(objectSid);
    } catch (err) {
      this.stats.record(objectSid, false);
      throw err;
    }
    this.stats.record(objectSid, true);
  }

  /** The injected failure status for this REST request, if any. */
  takeRestFailure(): RestFailureStatus | null {
    if (this.failures.count === 0) return null;
    this.failures.count -= 1;
    return this.failures.status;
  }

  /** The injected delay for this REST request in ms (0 = none). */
  takeRestDelay(): number {
    if (this.delays.count === 0) return 0;
    this.delays.count -= 1;
    return this.delays.ms;
  }
}
