import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { ConduitError, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Logger } from 'pino';
import { SyncRateLimitedError } from '../../adapters/twilio/twilio-sync-admin.js';
import { deletionReceipt, purgeFailed } from '../../audit/entries.js';
import type { PointerLedger, ReceiptInputs } from '../../adapters/redis/pointers.js';
import type { SyncWriteBudget } from '../../adapters/redis/token-bucket.js';
import type { DeliveryObserver } from '../events.js';
import {
  DEFAULT_PURGE_WORKER_OPTIONS,
  PURGE_BACKOFF,
  PURGE_QUEUE,
  jitteredBackoff,
  type PurgeJobData,
  type PurgeTuning,
  type PurgeWorkerOptions,
} from './queue.js';

/** Sync answered 429 without Retry-After: wait this long (plus jitter). */
const DEFAULT_RATE_LIMIT_MS = 1000;

export interface PurgeDeps {
  syncAdmin: SyncAdmin;
  ledger: PointerLedger;
  budget: SyncWriteBudget;
  observer: Required<DeliveryObserver>;
  now?: () => Date;
}

/**
 * Deletes one pointer's Sync item, then writes the terminal ledger state and its deletion receipt
 * in one atomic step. Idempotent: an item already gone is success, a pointer already terminal is
 * left alone. Waits (our token bucket, Sync's 429) move the job back to 'delayed' without using an
 * attempt; errors worth retrying are thrown (BullMQ backs off); the rest fail the pointer.
 */
export async function purgeOne(job: Job<PurgeJobData>, token: string | undefined, deps: PurgeDeps) {
  const { pointerId, groupId } = job.data;
  const map = syncMapOf(groupId);
  // The receipt's inputs no longer change once a pointer is 'purging' (receiptInputs-4.lua), so
  // they are read now, beside the take, instead of in one more round trip after the delete.
  const [wait, record] = await Promise.all([deps.budget.take(map), deps.ledger.receiptInputs(pointerId, groupId)]);
  if (wait > 0) {
    deps.observer.onPurgeDeferred({ pointerId, cause: 'throttled', delayMs: wait });
    return defer(job, token, wait);
  }
  let outcome: 'removed' | 'absent';
  try {
    outcome = await deps.syncAdmin.removeMapItem(map, pointerId);
  } catch (err) {
    if (err instanceof SyncRateLimitedError) {
      const ms = err.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS;
      await deps.budget.pause(map, ms);
      deps.observer.onPurgeDeferred({ pointerId, cause: 'rate-limited', delayMs: ms });
      return defer(job, token, ms + Math.floor(Math.random() * 100));
    }
    const attemptsMade = job.attemptsMade + 1;
    if (!retryable(err) || attemptsMade >= (job.opts.attempts ?? 1)) {
      const code = err instanceof ConduitError ? err.code : 'INTERNAL';
      const at = deps.now?.() ?? new Date();
      if (
        await deps.ledger.markFailed(
          pointerId,
          groupId,
          at,
          purgeFailed({ pointerId, groupId }, at, code, attemptsMade),
        )
      ) {
        deps.observer.onPurgeFailed({ pointerId, groupId, code, attemptsMade });
      }
      throw new UnrecoverableError(`purge failed: ${code}`);
    }
    deps.observer.onPurgeDeferred({ pointerId, cause: 'error' });
    throw err;
  }
  await recordPurge(record, outcome, deps);
  return outcome;
}

/** Marks the pointer terminal with its receipt once its Sync item is gone (the reconciler's way in). */
export async function completePurge(
  pointerId: string,
  outcome: 'removed' | 'absent',
  deps: Pick<PurgeDeps, 'ledger' | 'observer' | 'now'>,
): Promise<boolean> {
  return recordPurge(await deps.ledger.get(pointerId), outcome, deps);
}

async function recordPurge(
  record: ReceiptInputs | null,
  outcome: 'removed' | 'absent',
  deps: Pick<PurgeDeps, 'ledger' | 'observer' | 'now'>,
): Promise<boolean> {
  // Gone (retention over) or already terminal: nothing to record. markPurged checks the state
  // again, atomically, so a purge that another worker finished meanwhile records nothing either.
  // A withdrawn pointer's own audit entry was written when it was withdrawn: no deletion receipt.
  const done = ['purged', 'expired', 'pending', 'withdrawn'];
  if (!record || done.includes(record.state)) return false;
  const { pointerId } = record;
  const at = deps.now?.() ?? new Date();
  const result = await deps.ledger.markPurged(pointerId, record.groupId, at, deletionReceipt(record, at, outcome));
  if (result.ok) {
    deps.observer.onPurged({
      pointerId,
      groupId: record.groupId,
      reason: record.reason ?? 'acknowledged',
      outcome,
      latencyMs: result.latencyMs,
    });
  }
  return result.ok;
}

/** 5xx, timeouts, network errors and anything unexpected are retried; a refused request is not. */
function retryable(err: unknown): boolean {
  if (!(err instanceof ConduitError)) return true;
  return err.code === 'DEPENDENCY_UNAVAILABLE';
}

async function defer(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

export function createPurgeWorker(
  deps: PurgeDeps & {
    /** Must have `maxRetriesPerRequest: null`. */
    connection: RedisClient;
    prefix: string;
    tuning: PurgeTuning;
    logger: Logger;
    /** Concurrency and stall recovery; unset fields take DEFAULT_PURGE_WORKER_OPTIONS. */
    options?: Partial<PurgeWorkerOptions>;
  },
): Worker<PurgeJobData, 'removed' | 'absent'> {
  const backoff = jitteredBackoff(deps.tuning);
  const defaults = DEFAULT_PURGE_WORKER_OPTIONS;
  const concurrency = deps.options?.concurrency ?? defaults.concurrency;
  const lockDurationMs = deps.options?.lockDurationMs ?? defaults.lockDurationMs;
  const stalledIntervalMs = deps.options?.stalledIntervalMs ?? defaults.stalledIntervalMs;
  const worker = new Worker<PurgeJobData, 'removed' | 'absent'>(
    PURGE_QUEUE,
    (job: Job<PurgeJobData>, token?: string) => purgeOne(job, token, deps),
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: stalledIntervalMs,
      settings: {
        backoffStrategy: (attemptsMade, type) => (type === PURGE_BACKOFF ? backoff(attemptsMade) : 0),
      },
    },
  );
  worker.on('completed', (job, outcome) => deps.logger.debug({ pointerId: job.id, outcome }, 'sync item purged'));
  worker.on('failed', (job, err) =>
    deps.logger.warn({ pointerId: job?.id, attemptsMade: job?.attemptsMade, err }, 'sync item purge failed'),
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'purge worker error'));
  return worker;
}
