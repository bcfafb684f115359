/**
 * Fault injection for tests: Sync's per-object write rate limit, failing or slow REST responses,
 * and abrupt loss of every Twilsock connection.
 */
import { rateLimited } from './errors.js';

export type RestFailureStatus = 500 | 502 | 503 | 504;

export interface SyncFaults {
  /** Writes per second allowed per Sync object (item writes and deletes count against the parent); null = unlimited. */
  setRateLimit(writesPerSecondPerObject: number | null): void;
  /** The next `count` REST requests fail with `status`. */
  failNextRest(count: number, status: RestFailureStatus): void;
  /** The next `count` REST requests are answered `ms` late (then processed normally). */
  delayNextRest(count: number, ms: number): void;
  /** Closes every Twilsock WebSocket abruptly (no close frame). */
  dropSockets(): void;
}

const WINDOW_MS = 1_000;
const MAX_COUNT = 10_000;
const MAX_DELAY_MS = 120_000;

function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw new RangeError('count out of range');
  return count;
}

export class FaultState implements SyncFaults {
  private limit: number | null = null;
  private readonly writes = new Map<string, number[]>();
  private failures: { count: number; status: RestFailureStatus } = { count: 0, status: 500 };
  private delays = { count: 0, ms: 0 };

  constructor(private readonly dropAll: () => void) {}

  setRateLimit(writesPerSecondPerObject: number | null): void {
    if (
      writesPerSecondPerObject !== null &&
      (!Number.isInteger(writesPerSecondPerObject) || writesPerSecondPerObject < 1)
    ) {
      throw new RangeError('writesPerSecondPerObject must be a positive integer or null');
    }
    this.limit = writesPerSecondPerObject;
    this.writes.clear();
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
    if (this.limit === null) return;
    const now = Date.now();
    const recent = (this.writes.get(objectSid) ?? []).filter((t) => t > now - WINDOW_MS);
    if (recent.length >= this.limit) {
      this.writes.set(objectSid, recent);
      const retryAfterMs = recent[0]! + WINDOW_MS - now;
      throw rateLimited(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    }
    recent.push(now);
    this.writes.set(objectSid, recent);
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
