import type { ObjectStore } from '@conduit/shared';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { closeRedis, connectRedis, type RedisClient } from '../adapters/redis/connection.js';
import { createKeys, type Keys } from '../adapters/redis/keys.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { lifecycleOf } from '../app-context.js';
import { AuditLog } from '../audit/audit-log.js';
import { DEFAULTS, type ServerConfig } from '../config.js';
import { ledgerRetentionSeconds } from '../delivery/retention.js';
import { createLogger } from '../logger.js';
import { RecordsRetentionStore } from '../adapters/redis/records-retention.js';
import type { FeedPageStore } from '../records/archive/page-store.js';
import { DeleteBudget } from './delete-budget.js';
import { RunLease } from './run-lease.js';
import { RecordsRetention } from './records-retention.js';
import { UploadRepository } from '../files/uploads/upload-repository.js';
import { AuditRetention } from './audit-retention.js';
import { OrphanUploadsStep } from './orphan-uploads.js';
import { FilesRetentionStep, type FilesRetentionSettings } from './files-retention.js';
import { deploymentRetentionOf } from './group-retention.js';
import {
  createRetentionWorker,
  RETENTION_QUEUE,
  runRetention,
  scheduleRetention,
  type RetentionObserver,
  type RetentionSummary,
} from './retention-job.js';
import type { RetentionStep } from './retention-step.js';

/** Where the retention job's parts come from (the worker's connections, or the admin command's). */
export interface RetentionWiring {
  config: ServerConfig;
  redis: RedisClient;
  keys: Keys;
  objectStore: ObjectStore;
  /** The records archive's page store; absent: nothing was ever archived (records/archive/). */
  feedPages?: FeedPageStore;
  audit: AuditLog;
  logger: Logger;
  observer?: RetentionObserver;
  /** Kicks the worker's audit sealer after receipts were left pending on a shard. */
  onAuditEnqueued?: (shard: number) => void;
}

/** Without a page store nothing is archived, so no page is ever read, written or deleted. */
const NO_PAGES: FeedPageStore = {
  put: () => Promise.reject(new Error('no feed page store is configured')),
  get: () => Promise.resolve(null),
  delete: () => Promise.resolve(),
};

/** How the files step reads the deployment's clocks (docs/lifecycle.md#the-retention-job). */
export function filesRetentionSettings(config: ServerConfig): FilesRetentionSettings {
  const maxPendingSeconds = config.delivery?.pointerMaxAgeSeconds ?? DEFAULTS.pointerMaxAgeSeconds;
  return {
    stagingSeconds: (config.uploads?.ttlSeconds ?? DEFAULTS.uploadTtlSeconds) + config.s3.presignTtlSeconds + 3600,
    expiredLedgerSeconds: Math.max(0, ledgerRetentionSeconds(config.twilio.itemTtlSeconds) - maxPendingSeconds),
    maxPendingSeconds,
    concurrency: 4,
  };
}

/** The steps of a run, in order, and the run itself. */
export function retentionOf(w: RetentionWiring): {
  steps: RetentionStep[];
  run: (signal?: AbortSignal) => Promise<RetentionSummary>;
} {
  const { config, redis, keys } = w;
  const lifecycle = lifecycleOf(redis, keys, w.objectStore, w.audit, w.onAuditEnqueued, deploymentRetentionOf(config));
  const files = new FilesRetentionStep({
    ...lifecycle,
    ledger: new PointerLedger(redis, keys),
    settings: filesRetentionSettings(config),
  });
  const records = new RecordsRetention({
    store: new RecordsRetentionStore(redis, keys),
    pages: w.feedPages ?? NO_PAGES,
    eraser: lifecycle.eraser,
    refunds: lifecycle.refunds,
    holds: lifecycle.holds,
    policies: lifecycle.policies,
    logger: w.logger,
    ...(w.onAuditEnqueued ? { onAuditEnqueued: w.onAuditEnqueued } : {}),
  });
  const uploads = new OrphanUploadsStep({
    redis,
    keys,
    store: w.objectStore,
    uploads: new UploadRepository(redis, keys),
    audit: w.audit,
    uploadTtlSeconds: config.uploads?.ttlSeconds ?? DEFAULTS.uploadTtlSeconds,
    logger: w.logger,
  });
  // Audit last: it may trim entries the steps before it appended only if those are already old.
  const audit = new AuditRetention({ redis, keys, holds: lifecycle.holds, rule: deploymentRetentionOf(config).audit });
  const steps: RetentionStep[] = [files, records, uploads, audit];
  const budget = new DeleteBudget(
    redis,
    keys,
    config.retention?.deletesPerSecond ?? DEFAULTS.retentionDeletesPerSecond,
  );
  const lease = new RunLease(redis, keys.retentionLease());
  const deps = {
    steps,
    budget,
    lease,
    audit: w.audit,
    logger: w.logger,
    ...(w.observer ? { observer: w.observer } : {}),
  };
  return { steps, run: (signal) => runRetention(deps, signal) };
}

/**
 * The worker's retention job: a BullMQ job scheduler on its own queue, so one run happens per
 * config.retention.intervalSeconds however many workers run. close() aborts a run between batches.
 */
export async function startRetentionJob(w: RetentionWiring & { queueConnection: RedisClient }) {
  const { config, keys } = w;
  const connection = connectRedis(config.redisUrl, 'blocking');
  const queue = new Queue(RETENTION_QUEUE, { connection: w.queueConnection, prefix: keys.bullPrefix() });
  const stop = new AbortController();
  const { run } = retentionOf(w);
  const worker = createRetentionWorker({
    connection,
    prefix: keys.bullPrefix(),
    run,
    signal: stop.signal,
    logger: w.logger,
  });
  const close = async () => {
    stop.abort(new Error('worker shutting down'));
    await worker.close();
    await queue.close();
    await closeRedis(connection);
  };
  try {
    await worker.waitUntilReady();
    const intervalSeconds = config.retention?.intervalSeconds ?? DEFAULTS.retentionIntervalSeconds;
    await scheduleRetention(queue, intervalSeconds * 1000);
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}

/**
 * One retention run now (`conduit-server admin retention-run`, the bench, the crash test): its own
 * Redis connection, every receipt sealed into the audit chain before it returns.
 */
export async function runRetentionOnce(
  config: ServerConfig,
  deps: { objectStore: ObjectStore; feedPages?: FeedPageStore; logger?: Logger; signal?: AbortSignal },
): Promise<RetentionSummary> {
  const redis = connectRedis(config.redisUrl, 'command', { autoPipelining: true });
  try {
    const keys = createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
    const audit = new AuditLog(redis, keys);
    const logger = deps.logger ?? createLogger(config.logLevel);
    const { objectStore, feedPages } = deps;
    const wiring = { config, redis, keys, objectStore, ...(feedPages ? { feedPages } : {}), audit, logger };
    const summary = await retentionOf(wiring).run(deps.signal);
    await audit.seal('all');
    return summary;
  } finally {
    await closeRedis(redis);
  }
}
