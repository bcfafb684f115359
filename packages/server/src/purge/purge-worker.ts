import { Worker, type Job } from 'bullmq';
import { syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PointerLedger } from '../redis/pointers.js';
import { PURGE_BACKOFF, PURGE_QUEUE, jitteredBackoff, type PurgeJobData, type PurgeTuning } from './queue.js';

/** Deletes one Sync item per job; an item already gone is success. Marks the ledger afterwards. */
export async function purgeOne(
  data: PurgeJobData,
  deps: { syncAdmin: SyncAdmin; ledger: PointerLedger; now?: () => Date },
): Promise<'removed' | 'absent'> {
  const outcome = await deps.syncAdmin.removeMapItem(syncMapOf(data.groupId), data.pointerId);
  await deps.ledger.markPurged(data.pointerId, deps.now?.() ?? new Date());
  return outcome;
}

export function createPurgeWorker(deps: {
  /** Must have `maxRetriesPerRequest: null`. */
  connection: Redis;
  prefix: string;
  syncAdmin: SyncAdmin;
  ledger: PointerLedger;
  tuning: PurgeTuning;
  logger: Logger;
  concurrency?: number;
}): Worker<PurgeJobData, 'removed' | 'absent'> {
  const backoff = jitteredBackoff(deps.tuning);
  const worker = new Worker<PurgeJobData, 'removed' | 'absent'>(
    PURGE_QUEUE,
    (job: Job<PurgeJobData>) => purgeOne(job.data, deps),
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency ?? 8,
      settings: {
        backoffStrategy: (attemptsMade, type) => (type === PURGE_BACKOFF ? backoff(attemptsMade) : 0),
      },
    },
  );
  worker.on('completed', (job, outcome) => deps.logger.info({ pointerId: job.id, outcome }, 'sync item purged'));
  worker.on('failed', (job, err) =>
    deps.logger.warn({ pointerId: job?.id, attemptsMade: job?.attemptsMade, err }, 'sync item purge failed'),
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'purge worker error'));
  return worker;
}
