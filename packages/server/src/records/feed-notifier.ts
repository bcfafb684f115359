import { FEED_NOTIFICATION_ITEM_KEY, feedNotificationOf, syncMapOf } from '@conduit/shared';
import type { Logger } from 'pino';
import type { RecordStore } from '../adapters/redis/records.js';
import type { SyncWriteBudget } from '../adapters/redis/token-bucket.js';
import { SyncRateLimitedError } from '../adapters/twilio/twilio-sync-admin.js';
import type { DeliveryObserver } from '../delivery/events.js';
import { setItemHealing, type HealDeps } from '../delivery/sync/heal.js';
import { retryRateLimited, type RateLimitRetryPolicy } from '../delivery/sync/rate-limit-retry.js';

/**
 * A notification only speeds peers up (they also poll the feed), and it runs after the response:
 * waiting Sync out longer than a request could is fine.
 */
export const FEED_NOTIFY_RATE_LIMIT_RETRY: RateLimitRetryPolicy = { budgetMs: 5_000, baseMs: 100, maxMs: 1_000 };
/** Sync answered 429 without Retry-After: hold the map's bucket this long. */
const DEFAULT_RATE_LIMIT_MS = 1000;

export interface FeedNotifierDeps {
  records: Pick<RecordStore, 'notifyGate'>;
  heal: HealDeps;
  budget: SyncWriteBudget;
  observer: Required<DeliveryObserver>;
  logger: Logger;
  /** At most one Sync write per group per interval, across every process. */
  intervalMs: number;
  /** The item's TTL, refreshed by each write: the Twilio copy goes once the group is idle. */
  ttlSeconds: number;
  retry?: RateLimitRetryPolicy;
}

/** What the record service needs: "the group's feed grew" (fire and forget). */
export interface FeedNotify {
  notify(groupId: string): void;
}

/**
 * Announces feed growth through ONE item (`feed`) per group map, instead of one item per version
 * (docs/records.md). Writes are coalesced across every API process by a Redis gate: the first
 * notify of an interval writes at once (leading edge); notifies during the interval leave a
 * pending flag, and a process that saw one comes back when the interval ends to write the seq
 * then current (trailing edge), unless another write already covered it. A failed write is
 * logged and counted: peers still catch up from the feed (on their poll or next notification).
 */
export class FeedNotifier implements FeedNotify {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: FeedNotifierDeps) {}

  notify(groupId: string): void {
    if (!this.closed) this.track(this.pass(groupId, 'notify'));
  }

  /** Resolves once no write is running or scheduled in this process (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.timers.size > 0) {
      if (this.inFlight.size > 0) await Promise.all(this.inFlight);
      else await new Promise((resolve) => setTimeout(resolve, this.deps.intervalMs / 4));
    }
  }

  /** Drops scheduled trailing writes (another process's write, or the peers' poll, covers them). */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.inFlight);
  }

  private async pass(groupId: string, mode: 'notify' | 'trailing'): Promise<void> {
    const { intervalMs } = this.deps;
    // A flag outlives the lock by far, yet one left by a dead process expires.
    const gate = await this.deps.records.notifyGate(groupId, mode, intervalMs, Math.max(10 * intervalMs, 10_000));
    if (gate.kind === 'write') await this.write(groupId, gate.seq);
    else if (gate.kind === 'held') this.schedule(groupId, gate.retryInMs);
  }

  private schedule(groupId: string, ms: number): void {
    if (this.closed || this.timers.has(groupId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(groupId);
      if (!this.closed) this.track(this.pass(groupId, 'trailing'));
    }, ms);
    timer.unref();
    this.timers.set(groupId, timer);
  }

  private async write(groupId: string, seq: number): Promise<void> {
    const { heal, budget, observer, ttlSeconds } = this.deps;
    const map = syncMapOf(groupId);
    for (let wait = await budget.take(map); wait > 0; wait = await budget.take(map)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const item = { ...feedNotificationOf(groupId, seq) };
    try {
      await retryRateLimited(async () => {
        try {
          // The item is there whenever the group wrote within its TTL: replace it first.
          await setItemHealing(heal, groupId, FEED_NOTIFICATION_ITEM_KEY, item, ttlSeconds, 'publish', 'existing');
        } catch (err) {
          if (err instanceof SyncRateLimitedError) {
            observer.onFeedNotified({ outcome: 'rate-limited' });
            // Every process's writes to this map (purges too) hold off, not only ours.
            await budget.pause(map, err.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS);
          }
          throw err;
        }
      }, this.deps.retry ?? FEED_NOTIFY_RATE_LIMIT_RETRY);
      observer.onFeedNotified({ outcome: 'written' });
    } catch (err) {
      observer.onFeedNotified({ outcome: 'failed' });
      this.deps.logger.warn({ err, groupId, seq }, 'feed notification not written; peers catch up from the feed');
    }
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'feed notifier failed; peers catch up from the feed');
    });
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }
}
