import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AnomalyKind } from '@conduit/shared';
import type { DeliveryObserver } from '../delivery/events.js';
import type { PurgeReason } from '../adapters/redis/pointers.js';

/** What the gauges read on scrape: a BullMQ Queue satisfies it. */
export interface QueueCountsSource {
  getJobCounts(...types: QueueState[]): Promise<Record<string, number>>;
}

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/**
 * Delivery metrics of one process, in Prometheus format, fed by the delivery hooks
 * (`DeliveryObserver`): the API counts acks, the worker counts purges; queue depth is read from
 * Redis at scrape time so every process reports the same truth. Label values are fixed enums: ids
 * never become labels (unbounded cardinality, and they are data).
 */
export class DeliveryMetrics implements DeliveryObserver {
  readonly registry = new Registry();
  private readonly acks: Counter<'final'>;
  private readonly anomalies: Counter<'kind'>;
  private readonly purges: Counter<'outcome' | 'reason'>;
  private readonly deferrals: Counter<'cause'>;
  private readonly failures: Counter;
  private readonly expired: Counter;
  private readonly reconciled: Counter<'action'>;
  private readonly heals: Counter<'what'>;
  private readonly feedNotifications: Counter<'outcome'>;
  private readonly feedRateLimited: Counter;
  private readonly retentionDeleted: Counter<'step'>;
  private readonly retentionRuns: Counter<'outcome'>;
  private readonly ackToPurge: Histogram;
  private readonly queues = new Set<QueueCountsSource>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.acks = new Counter({
      name: 'conduit_acks_total',
      help: 'First acknowledgements by an endpoint; final="true" for the one that completed its pointer.',
      labelNames: ['final'],
      registers,
    });
    this.anomalies = new Counter({
      name: 'conduit_pointer_anomalies_total',
      help: 'Pointer anomalies reported by receiving endpoints: vanished, changed, unverifiable, unknown.',
      labelNames: ['kind'],
      registers,
    });
    this.purges = new Counter({
      name: 'conduit_purges_total',
      help: 'Pointers purged from Sync, by outcome (removed; absent = already gone) and reason.',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.deferrals = new Counter({
      name: 'conduit_purge_retries_total',
      help: 'Purge attempts postponed: rate-limited (Sync 429), throttled (our token bucket) or error.',
      labelNames: ['cause'],
      registers,
    });
    this.failures = new Counter({
      name: 'conduit_purge_failures_total',
      help: "Purges that gave up: the pointer is 'failed' and an audit entry was written.",
      registers,
    });
    this.expired = new Counter({
      name: 'conduit_pointers_expired_total',
      help: 'Pointers the sweeper purged because they outlived the maximum age.',
      registers,
    });
    this.reconciled = new Counter({
      name: 'conduit_reconciler_actions_total',
      help: 'Reconciler work: orphan Sync items removed, lost purges re-enqueued.',
      labelNames: ['action'],
      registers,
    });
    this.heals = new Counter({
      name: 'conduit_sync_heals_total',
      help: 'Sync healed by the server: missing maps re-provisioned, their grants restored, pending items re-published.',
      labelNames: ['what'],
      registers,
    });
    this.feedNotifications = new Counter({
      name: 'conduit_feed_notifications_total',
      help: "Records feed notifications (a group map's one 'feed' item), by outcome: written or failed (logged; peers catch up from the feed).",
      labelNames: ['outcome'],
      registers,
    });
    this.feedRateLimited = new Counter({
      name: 'conduit_feed_notification_rate_limited_total',
      help: 'Sync 429 answers to feed notification writes (each one retried within a bounded time).',
      registers,
    });
    this.retentionDeleted = new Counter({
      name: 'conduit_retention_deleted_total',
      help: "Items the retention job deleted, by step ('files', ...); each batch has its audit receipt.",
      labelNames: ['step'],
      registers,
    });
    this.retentionRuns = new Counter({
      name: 'conduit_retention_runs_total',
      help: 'Retention runs, by outcome: completed, interrupted (worker shutdown) or failed (a step threw).',
      labelNames: ['outcome'],
      registers,
    });
    this.ackToPurge = new Histogram({
      name: 'conduit_last_ack_to_purge_seconds',
      help: "Time from a pointer entering 'purging' (its last acknowledgement) to the deletion of its Sync item.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'conduit_purge_queue_jobs',
      help: "Jobs in the 'conduit-purge' queue by state, read from Redis at scrape time.",
      labelNames: ['state'],
      registers,
      async collect() {
        const totals = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>;
        for (const queue of queues) {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) totals[state] += counts[state] ?? 0;
        }
        for (const state of QUEUE_STATES) this.set({ state }, totals[state]);
      },
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'conduit_' });
  }

  onAck(e: { remaining: number }): void {
    this.acks.inc({ final: String(e.remaining === 0) });
  }

  onAnomaly(e: { kind: AnomalyKind }): void {
    this.anomalies.inc({ kind: e.kind });
  }

  onPurged(e: { outcome: 'removed' | 'absent'; reason: PurgeReason; latencyMs: number }): void {
    this.purges.inc({ outcome: e.outcome, reason: e.reason });
    // Only acknowledged pointers measure delivery; expiries and drops have their own clocks.
    if (e.reason === 'acknowledged' && Number.isFinite(e.latencyMs) && e.latencyMs >= 0) {
      this.ackToPurge.observe(e.latencyMs / 1000);
    }
  }

  onPurgeDeferred(e: { cause: 'rate-limited' | 'throttled' | 'error' }): void {
    this.deferrals.inc({ cause: e.cause });
  }

  onPurgeFailed(): void {
    this.failures.inc();
  }

  onExpired(e: { count: number }): void {
    this.expired.inc(e.count);
  }

  onReconciled(e: { orphansRemoved: number; requeued: number }): void {
    this.reconciled.inc({ action: 'orphan-removed' }, e.orphansRemoved);
    this.reconciled.inc({ action: 'requeued' }, e.requeued);
  }

  onSyncHealed(e: { what: 'map' | 'permissions' | 'item'; count?: number }): void {
    this.heals.inc({ what: e.what }, e.count ?? 1);
  }

  onFeedNotified(e: { outcome: 'written' | 'failed' | 'rate-limited' }): void {
    if (e.outcome === 'rate-limited') this.feedRateLimited.inc();
    else this.feedNotifications.inc({ outcome: e.outcome });
  }

  onRetentionDeleted(e: { step: string; count: number }): void {
    this.retentionDeleted.inc({ step: e.step }, e.count);
  }

  onRetentionRun(e: { outcome: 'completed' | 'interrupted' | 'failed' }): void {
    this.retentionRuns.inc({ outcome: e.outcome });
  }

  /** Adds a queue to the depth gauges until the returned function is called. */
  watchQueue(queue: QueueCountsSource): () => void {
    this.queues.add(queue);
    return () => this.queues.delete(queue);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

let shared: DeliveryMetrics | undefined;

/**
 * One registry per process (Prometheus scrapes processes): the API and the worker share it when
 * they run in the same process (`conduit-server all`, the dev stack).
 */
export function processMetrics(): DeliveryMetrics {
  shared ??= new DeliveryMetrics();
  return shared;
}
