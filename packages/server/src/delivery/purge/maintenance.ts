import { FEED_NOTIFICATION_ITEM_KEY, PointerId, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import { Queue, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Logger } from 'pino';
import { SyncRateLimitedError } from '../../adapters/twilio/twilio-sync-admin.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { QuotaRefunds } from '../../limits/quota-refunds.js';
import { strayItemRemoved } from '../../audit/entries.js';
import type { PointerLedger } from '../../adapters/redis/pointers.js';
import type { SyncWriteBudget } from '../../adapters/redis/token-bucket.js';
import type { DeliveryObserver } from '../events.js';
import { healItems, healMaps, type HealingDeps } from './healing-pass.js';
import { completePurge } from './purge-worker.js';
import { PURGE_JOB, purgeJobOptions, type PurgeJobData, type PurgeTuning } from './queue.js';

/** Repeatable backstop jobs (BullMQ job schedulers) live on their own queue, off the purge queue's depth. */
export const MAINTENANCE_QUEUE = 'conduit-maintenance';
const SWEEP = 'sweep';
const RECONCILE = 'reconcile';
const BATCH = 500;
/** Prefix of the Sync maps Conduit owns (syncMapOf); other maps of the service are left alone. */
const MAP_PREFIX = syncMapOf('');

export interface MaintenanceSettings {
  /** Pending pointers older than this are purged as 'expired'. */
  pointerMaxAgeSeconds: number;
  sweepIntervalMs: number;
  reconcileIntervalMs: number;
  /** Sync items and 'purging' entries younger than this are left to the normal path. */
  reconcileGraceSeconds: number;
}

/** Forces pending pointers past their maximum age to purge, recording who never acknowledged. */
export async function sweepExpired(
  deps: { ledger: PointerLedger; observer: Required<DeliveryObserver> },
  maxAgeSeconds: number,
  now = new Date(),
): Promise<number> {
  const cutoff = new Date(now.getTime() - maxAgeSeconds * 1000);
  let expired = 0;
  for (;;) {
    const ids = await deps.ledger.pendingBefore(cutoff, BATCH);
    for (const id of ids) if (await deps.ledger.expire(id)) expired += 1;
    // expire() removes each id from the index, so the next batch starts after these.
    if (ids.length < BATCH) break;
  }
  if (expired > 0) deps.observer.onExpired({ count: expired });
  return expired;
}

export interface ReconcileDeps extends HealingDeps {
  syncAdmin: SyncAdmin;
  ledger: PointerLedger;
  budget: SyncWriteBudget;
  audit: AuditLog;
  queue: Queue<PurgeJobData>;
  tuning: PurgeTuning;
  observer: Required<DeliveryObserver>;
  logger: Logger;
}

export interface ReconcileResult {
  mapsScanned: number;
  orphansRemoved: number;
  requeued: number;
  /** Healing: missing maps re-provisioned, missing items of pending pointers re-published. */
  mapsHealed: number;
  itemsHealed: number;
}

/**
 * Compares Sync with the ledger. Items older than the grace period are deleted when the ledger
 * does not account for them (no entry: a crashed client or an item nobody registered) or no
 * longer does (purged/expired/failed: published after its purge, or the purge gave up). Ledger
 * entries stuck in 'purging' whose job is gone are re-enqueued. Then it heals what Sync lost
 * (healing-pass.ts): missing maps of ready groups, missing items of pending pointers.
 */
export async function reconcile(deps: ReconcileDeps, graceSeconds: number, now = new Date()): Promise<ReconcileResult> {
  const cutoff = new Date(now.getTime() - graceSeconds * 1000);
  const result: ReconcileResult = { mapsScanned: 0, orphansRemoved: 0, requeued: 0, mapsHealed: 0, itemsHealed: 0 };
  const existing = new Set<string>();
  for await (const maps of deps.syncAdmin.listMaps()) {
    for (const map of maps) {
      if (!map.uniqueName?.startsWith(MAP_PREFIX)) continue;
      existing.add(map.uniqueName);
      result.mapsScanned += 1;
      const { removed, present } = await reconcileMap(deps, map.uniqueName, cutoff);
      result.orphansRemoved += removed;
      if (present)
        result.itemsHealed += await healItems(deps, map.uniqueName.slice(MAP_PREFIX.length), present, cutoff);
    }
  }
  result.requeued = await requeueLost(deps, cutoff);
  const healed = await healMaps(deps, existing, cutoff);
  result.mapsHealed = healed.mapsHealed;
  result.itemsHealed += healed.itemsHealed;
  deps.observer.onReconciled(result);
  return result;
}

/** Removes the map's stray items; `present` is every key the map holds (null when not all were read). */
async function reconcileMap(
  deps: ReconcileDeps,
  map: string,
  cutoff: Date,
): Promise<{ removed: number; present: Set<string> | null }> {
  let removed = 0;
  const present = new Set<string>();
  for await (const items of deps.syncAdmin.listMapItems(map)) {
    for (const item of items) {
      present.add(item.key);
      // The records feed notification is no pointer: it has its own TTL (records/feed-notifier.ts).
      if (item.dateCreated >= cutoff || item.key === FEED_NOTIFICATION_ITEM_KEY) continue;
      const state = PointerId.safeParse(item.key).success ? await deps.ledger.stateOf(item.key) : null;
      if (state === 'pending' || state === 'purging') continue;
      try {
        await waitForBudget(deps.budget, map);
        const outcome = await deps.syncAdmin.removeMapItem(map, item.key);
        if (state === 'failed') await completePurge(item.key, outcome, deps);
        else
          await deps.audit.append(
            strayItemRemoved({ map, key: item.key, at: new Date(), ledgerState: state ?? 'none' }),
          );
        removed += 1;
      } catch (err) {
        if (err instanceof SyncRateLimitedError) await deps.budget.pause(map, err.retryAfterMs ?? 1000);
        // The next pass picks it up again.
        deps.logger.warn({ err, map }, 'reconciler could not remove a stray Sync item');
        // The listing stopped early: its keys are incomplete, so nothing in this map is healed now.
        return { removed, present: null };
      }
    }
  }
  return { removed, present };
}

async function requeueLost(deps: ReconcileDeps, cutoff: Date): Promise<number> {
  let requeued = 0;
  for (const pointerId of await deps.ledger.purgingBefore(cutoff, BATCH)) {
    const job = await deps.queue.getJob(pointerId);
    const jobState = job ? await job.getState() : 'missing';
    if (jobState !== 'missing' && jobState !== 'completed' && jobState !== 'failed' && jobState !== 'unknown') continue;
    // Re-read: the job may have finished (and the ledger moved on) since the index was read.
    const groupId = await deps.ledger.groupOf(pointerId);
    if (groupId === null || (await deps.ledger.stateOf(pointerId, groupId)) !== 'purging') continue;
    // A finished job with this id would swallow the add (job id = pointer id).
    if (job) await job.remove();
    await deps.queue.add(PURGE_JOB, { pointerId, groupId }, purgeJobOptions(pointerId, deps.tuning));
    requeued += 1;
  }
  if (requeued > 0) deps.logger.warn({ requeued }, 'reconciler re-enqueued lost purges');
  return requeued;
}

async function waitForBudget(budget: SyncWriteBudget, map: string): Promise<void> {
  for (let wait = await budget.take(map); wait > 0; wait = await budget.take(map)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Installs (or updates) the two job schedulers; idempotent across restarts and many workers. */
export async function scheduleMaintenance(queue: Queue, settings: MaintenanceSettings): Promise<void> {
  await queue.upsertJobScheduler(SWEEP, { every: settings.sweepIntervalMs }, { name: SWEEP });
  await queue.upsertJobScheduler(RECONCILE, { every: settings.reconcileIntervalMs }, { name: RECONCILE });
}

export function createMaintenanceWorker(
  deps: ReconcileDeps & {
    connection: RedisClient;
    prefix: string;
    settings: MaintenanceSettings;
    /** The sweep also gives back quota refunds an eraser's crash left on the outboxes. */
    refunds: Pick<QuotaRefunds, 'drainAll'>;
  },
): Worker {
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      if (job.name === SWEEP) {
        const expired = await sweepExpired(deps, deps.settings.pointerMaxAgeSeconds);
        return { expired, refunds: await deps.refunds.drainAll() };
      }
      if (job.name === RECONCILE) return reconcile(deps, deps.settings.reconcileGraceSeconds);
      return null;
    },
    // One at a time: a slow reconcile pass must not overlap the next.
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  );
  worker.on('failed', (job, err) => deps.logger.warn({ job: job?.name, err }, 'maintenance job failed'));
  worker.on('error', (err) => deps.logger.error({ err }, 'maintenance worker error'));
  return worker;
}
