import type { Logger } from 'pino';
import type { AnomalyKind } from '@conduit/shared';
import type { PurgeReason } from '../adapters/redis/pointers.js';

/**
 * Delivery hooks for metrics (the ops layer implements them; every method is optional). They are
 * called after the fact and must not throw or block: `safeObserver` guards them anyway, so a
 * metrics bug can never fail an acknowledgement or a purge.
 */
export interface DeliveryObserver {
  /** An endpoint acknowledged a pointer for the first time (API process). */
  onAck?(e: { pointerId: string; remaining: number }): void;
  /** A receiving endpoint reported a pointer anomaly (first report of that endpoint for that pointer). */
  onAnomaly?(e: { kind: AnomalyKind }): void;
  /** A Sync item was deleted (or found gone) and the ledger marked terminal (worker process). */
  onPurged?(e: {
    pointerId: string;
    groupId: string;
    reason: PurgeReason;
    outcome: 'removed' | 'absent';
    /** From the pointer entering 'purging' (last ack, drop or expiry) to this moment (Redis clock). */
    latencyMs: number;
  }): void;
  /** A purge attempt will be retried: Sync rate limit (429), our own token bucket, or an error. */
  onPurgeDeferred?(e: { pointerId: string; cause: 'rate-limited' | 'throttled' | 'error'; delayMs?: number }): void;
  /** A purge gave up: the pointer is 'failed' (an audit entry was written). */
  onPurgeFailed?(e: { pointerId: string; groupId: string; code: string; attemptsMade: number }): void;
  /** The sweeper forced `count` pointers older than the maximum age to purge. */
  onExpired?(e: { count: number }): void;
  /** One reconciler pass: stray Sync items deleted, lost purges re-enqueued. */
  onReconciled?(e: {
    orphansRemoved: number;
    requeued: number;
    mapsScanned: number;
    mapsHealed: number;
    itemsHealed: number;
  }): void;
  /** Sync was healed: a missing map re-provisioned, `count` grants restored, or an item re-published. */
  onSyncHealed?(e: { what: 'map' | 'permissions' | 'item'; count?: number }): void;
  /**
   * A group's feed notification (API process): written, failed (given up, logged), or one Sync
   * 429 answer on the way (retried).
   */
  onFeedNotified?(e: { outcome: 'written' | 'failed' | 'rate-limited' }): void;
}

/** Wraps every hook so a throwing observer is logged and ignored. */
export function safeObserver(observer: DeliveryObserver | undefined, logger: Logger): Required<DeliveryObserver> {
  const wrap =
    <E>(name: keyof DeliveryObserver) =>
    (e: E): void => {
      const fn = observer?.[name] as ((e: E) => void) | undefined;
      if (!fn) return;
      try {
        fn.call(observer, e);
      } catch (err) {
        logger.warn({ err, hook: name }, 'delivery observer failed');
      }
    };
  return {
    onAck: wrap('onAck'),
    onAnomaly: wrap('onAnomaly'),
    onPurged: wrap('onPurged'),
    onPurgeDeferred: wrap('onPurgeDeferred'),
    onPurgeFailed: wrap('onPurgeFailed'),
    onExpired: wrap('onExpired'),
    onReconciled: wrap('onReconciled'),
    onSyncHealed: wrap('onSyncHealed'),
    onFeedNotified: wrap('onFeedNotified'),
  };
}
