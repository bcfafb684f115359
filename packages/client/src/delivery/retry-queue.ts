/**
 * Retries of pointers a running receive could not handle for a transient reason (an outage of
 * the API, S3 or the network): exponential backoff with equal jitter, capped, per pointer. A
 * verification failure (an anomaly) or any other permanent error is never retried here.
 */
import { ConduitError } from '@conduit/shared';

export interface BackoffPolicy {
  /** Delay before the first retry (default 1 s). */
  baseMs: number;
  /** Upper bound of any delay (default 60 s). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };

const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'TRANSPORT',
  'TIMEOUT',
  'DEPENDENCY_UNAVAILABLE',
  'RATE_LIMITED',
  'INTERNAL',
]);

/** Whether an error says "try again later" rather than "this pointer is bad" or "not for you". */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ConduitError)) return false;
  return TRANSIENT_CODES.has(err.code) || err.status >= 500;
}

/**
 * The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, then equal
 * jitter (half fixed, half random) so receivers that failed together do not retry together.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** At most this many pointers wait for a retry at once; beyond it the oldest waits for the next session. */
const MAX_PENDING = 1_000;

interface Entry<T> {
  item: T;
  attempts: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Holds the pointers waiting for a retry, each with its own attempt count and timer. `run` is
 * called with the item when its delay is over and reports the outcome back through `done` /
 * `failed`. (After a Sync reconnect the channel re-delivers every item anyway: a pointer handled
 * then is `done` early; one failing again keeps its pending timer.)
 */
export class RetryQueue<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private closed = false;

  constructor(
    private readonly run: (key: string, item: T) => void,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Records a failure: a transient one schedules the next attempt (true); anything else drops
   * the pointer from the queue (false: it is not retried).
   */
  failed(key: string, item: T, err: unknown): boolean {
    const entry = this.entries.get(key);
    if (this.closed || !isTransient(err)) {
      this.forget(key);
      return false;
    }
    if (entry?.timer) return true; // already scheduled (a duplicate delivery failed too)
    if (!entry && this.entries.size >= MAX_PENDING) this.forget(this.entries.keys().next().value!);
    const next: Entry<T> = { item, attempts: (entry?.attempts ?? 0) + 1, timer: null };
    next.timer = setTimeout(() => this.fire(key), backoffDelay(next.attempts, this.policy, this.random));
    next.timer.unref();
    this.entries.set(key, next);
    return true;
  }

  /** The pointer was handled, or its item is gone: no more retries. */
  done(key: string): void {
    this.forget(key);
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.entries.keys()]) this.forget(key);
  }

  private fire(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || this.closed) return;
    // Keeps the attempt count: the next failure backs off further.
    entry.timer = null;
    this.run(key, entry.item);
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(key);
  }
}
