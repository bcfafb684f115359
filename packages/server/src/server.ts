import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { buildAppContext, lifecycleOf, quotasOf, uploadServiceOf } from './app-context.js';
import type { ServerDeps } from './server-deps.js';
import { authOf } from './identity/auth/wiring.js';
import { DEFAULTS, type ServerConfig } from './config.js';
import { AuditLog } from './audit/audit-log.js';
import { AuditSealer } from './audit/audit-sealer.js';
import { createApp } from './http/app.js';
import { createLogger } from './logger.js';
import { processMetrics } from './ops/metrics.js';
import { apiOps, workerOps } from './ops/wiring.js';
import { safeObserver } from './delivery/events.js';
import {
  MAINTENANCE_QUEUE,
  createMaintenanceWorker,
  scheduleMaintenance,
  type MaintenanceSettings,
} from './delivery/purge/maintenance.js';
import { OutboxRelay } from './delivery/purge/outbox-relay.js';
import { createPurgeWorker } from './delivery/purge/purge-worker.js';
import { DEFAULT_PURGE_TUNING, PURGE_QUEUE, type PurgeJobData, type PurgeTuning } from './delivery/purge/queue.js';
import { closeRedis, connectRedis } from './adapters/redis/connection.js';
import { DeviceRepository } from './adapters/redis/devices.js';
import { GroupRepository } from './adapters/redis/groups.js';
import { createKeys } from './adapters/redis/keys.js';
import { PointerLedger } from './adapters/redis/pointers.js';
import { SyncWriteBudget } from './adapters/redis/token-bucket.js';
import { DEFAULT_UPLOAD_CLEANER_TUNING, UploadCleaner } from './files/uploads/upload-cleaner.js';
import { feedArchiveJobOf } from './records/archive/feed-archive-job.js';
import { startRetentionJob } from './lifecycle/retention-wiring.js';
import { UploadRepository } from './files/uploads/upload-repository.js';
import { assertProductionReady } from './startup/production.js';
import { GroupDeletion } from './lifecycle/group-deletion.js';
import { GroupDeletionDrainer } from './lifecycle/group-deletion-drainer.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface RunningWorker {
  close(): Promise<void>;
}

/** Fills in whatever the caller did not inject from configuration (real Twilio, Virgil, S3). */
async function resolveDeps(config: ServerConfig, deps: Partial<ServerDeps>): Promise<ServerDeps> {
  const { syncAdmin, objectStore, virgilTokens, syncTokens } = deps;
  if (syncAdmin && objectStore && virgilTokens && syncTokens)
    return { ...deps, syncAdmin, objectStore, virgilTokens, syncTokens };
  // Loaded lazily: the real adapters are only needed when nothing was injected.
  const { composeDefaults } = await import('./compose.js');
  return { ...composeDefaults(config), ...stripUndefined(deps) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const keysOf = (config: ServerConfig) => createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
const tuningOf = (config: ServerConfig): PurgeTuning => ({ ...DEFAULT_PURGE_TUNING, ...config.purge });
const observerOf = (deps: ServerDeps, logger: Logger) =>
  safeObserver(deps.observer ?? deps.metrics ?? processMetrics(), logger);
const maintenanceOf = (config: ServerConfig): MaintenanceSettings => {
  const d = { ...DEFAULTS, ...config.delivery };
  return {
    pointerMaxAgeSeconds: d.pointerMaxAgeSeconds,
    sweepIntervalMs: d.sweepIntervalSeconds * 1000,
    reconcileIntervalMs: d.reconcileIntervalSeconds * 1000,
    reconcileGraceSeconds: d.reconcileGraceSeconds,
  };
};

export interface Api {
  app: Express;
  logger: Logger;
  /** Closes what the app holds open (Redis, queues, the feed notifier); not a listener. */
  close(): Promise<void>;
}

/** The API's Express app with everything it needs, not listening (tests walk its routes). */
export async function createApi(config: ServerConfig, deps: Partial<ServerDeps> = {}): Promise<Api> {
  const resolved = await resolveDeps(config, deps);
  const logger = resolved.logger ?? createLogger(config.logLevel);
  const keys = keysOf(config);
  const redis = connectRedis(config.redisUrl, 'command');

  const devices = new DeviceRepository(redis, keys);
  const auth = await authOf(config, redis, keys, devices, logger);

  const ctx = buildAppContext({
    config,
    redis,
    keys,
    logger,
    adapters: resolved,
    auth,
    devices,
    observer: observerOf(resolved, logger),
  });
  const ops = apiOps({
    config,
    redis,
    keys,
    objectStore: resolved.objectStore,
    syncAdmin: resolved.syncAdmin,
    metrics: resolved.metrics ?? processMetrics(),
    logger,
  });
  return {
    app: createApp(ctx, ops.options),
    logger,
    async close() {
      await ops.close();
      await ctx.feedNotifier.close();
      await closeRedis(redis);
    },
  };
}

/**
 * Starts the HTTP API. Listens on config.host:config.port (port 0 picks a free port). In
 * production mode the checks of startup/ run first: PRODUCTION_UNSAFE before anything listens.
 */
export async function startServer(config: ServerConfig, deps: Partial<ServerDeps> = {}): Promise<RunningServer> {
  await assertProductionReady(config);
  const api = await createApi(config, deps);
  const server = createServer(api.app);
  // Slow-loris and idle-connection bounds; bodies are small (16 KiB; a records batch 1 MiB).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  try {
    await listen(server, config.port, config.host);
  } catch (err) {
    await api.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(config.host)}:${port}`;
  api.logger.info({ url, auth: config.auth.mode, mode: config.mode ?? 'development' }, 'conduit api listening');

  return {
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await api.close();
    },
  };
}

/** Starts the outbox relay, the BullMQ purge worker and the upload sweep (after the production checks, as the API). */
export async function startWorker(config: ServerConfig, deps: Partial<ServerDeps> = {}): Promise<RunningWorker> {
  await assertProductionReady(config);
  const resolved = await resolveDeps(config, deps);
  const logger = resolved.logger ?? createLogger(config.logLevel);
  const keys = keysOf(config);
  const tuning = tuningOf(config);
  // 32 purges in flight issue their scripts in the same ticks: one socket write for many of them.
  const redis = connectRedis(config.redisUrl, 'command', { autoPipelining: true });
  const blocking = connectRedis(config.redisUrl, 'blocking');
  const bullConnection = connectRedis(config.redisUrl, 'blocking');
  const audit = new AuditLog(redis, keys);
  // Seals the audit entries ledger transitions leave pending; kicked after each one.
  const sealer = new AuditSealer(audit, logger);
  const ledger = new PointerLedger(redis, keys, (shard) => sealer.kick(shard));

  // BullMQ defines ~60 scripts on the connection it is given, and ioredis copies every script onto
  // each pipeline/MULTI it builds (~20 us each): queues get their own connection so the ledger's
  // per-purge MULTI and pipelines stay cheap.
  const queueConnection = connectRedis(config.redisUrl, 'command');
  const queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection: queueConnection, prefix: keys.bullPrefix() });
  const maintenanceConnection = connectRedis(config.redisUrl, 'blocking');
  const observer = observerOf(resolved, logger);
  const budget = new SyncWriteBudget(redis, keys, config.delivery?.syncWritesPerSecond ?? DEFAULTS.syncWritesPerSecond);
  const worker = createPurgeWorker({
    connection: bullConnection,
    prefix: keys.bullPrefix(),
    syncAdmin: resolved.syncAdmin,
    ledger,
    budget,
    observer,
    tuning,
    logger,
    options: config.purge ?? {},
  });
  const kick = (shard: number) => sealer.kick(shard);
  const lifecycle = lifecycleOf(redis, keys, resolved.objectStore, audit, kick);
  // Sweeper and reconciler: BullMQ job schedulers, so many workers still run each pass once.
  const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: queueConnection, prefix: keys.bullPrefix() });
  const settings = maintenanceOf(config);
  const maintenance = createMaintenanceWorker({
    connection: maintenanceConnection,
    prefix: keys.bullPrefix(),
    settings,
    syncAdmin: resolved.syncAdmin,
    ledger,
    budget,
    audit,
    queue,
    tuning,
    observer,
    logger,
    groups: new GroupRepository(redis, keys),
    itemTtlSeconds: config.twilio.itemTtlSeconds,
    refunds: lifecycle.refunds,
  });
  const relay = new OutboxRelay({ redis, blocking, keys, ledger, queue, tuning, logger });
  const uploadRepo = new UploadRepository(redis, keys);
  const cleaner = new UploadCleaner({
    repo: uploadRepo,
    uploads: uploadServiceOf(config, uploadRepo, resolved, logger, quotasOf(config, redis, keys)),
    logger,
    tuning: { ...DEFAULT_UPLOAD_CLEANER_TUNING, ...stripUndefined({ intervalMs: config.uploads?.sweepIntervalMs }) },
  });
  const feedArchive = feedArchiveJobOf(config, redis, keys, resolved.feedPages, logger);
  const groupDeletions = new GroupDeletionDrainer(
    new GroupDeletion({
      ...lifecycle,
      redis,
      keys,
      store: resolved.objectStore,
      syncAdmin: resolved.syncAdmin,
      logger,
      onAuditEnqueued: kick,
    }),
    logger,
  );
  const connections = [redis, queueConnection, blocking, bullConnection, maintenanceConnection];
  try {
    await Promise.all([worker.waitUntilReady(), maintenance.waitUntilReady()]);
    await scheduleMaintenance(maintenanceQueue, settings);
    await relay.start();
  } catch (err) {
    await Promise.all([worker.close(), maintenance.close()]);
    await Promise.all([queue.close(), maintenanceQueue.close()]);
    await Promise.all(connections.map(closeRedis));
    throw err;
  }
  // The retention job (docs/lifecycle.md): its steps are listed in lifecycle/retention-wiring.ts.
  const retention = await startRetentionJob({
    config,
    redis,
    keys,
    queueConnection,
    objectStore: resolved.objectStore,
    ...(resolved.feedPages ? { feedPages: resolved.feedPages } : {}),
    audit,
    logger,
    observer: resolved.metrics ?? processMetrics(),
    onAuditEnqueued: (shard) => sealer.kick(shard),
  }).catch(async (err: unknown) => {
    await relay.stop();
    await Promise.all([worker.close(), maintenance.close()]);
    await Promise.all([queue.close(), maintenanceQueue.close()]);
    await Promise.all(connections.map(closeRedis));
    throw err;
  });
  cleaner.start();
  feedArchive?.start();
  groupDeletions.start();
  sealer.start();
  const ops = await workerOps({
    config,
    redis,
    keys,
    queue,
    objectStore: resolved.objectStore,
    syncAdmin: resolved.syncAdmin,
    metrics: resolved.metrics ?? processMetrics(),
    logger,
  });
  logger.info({ mode: config.mode ?? 'development' }, 'conduit purge worker running');

  return {
    async close() {
      await ops.close();
      await cleaner.stop();
      await feedArchive?.stop();
      await groupDeletions.stop();
      await relay.stop();
      // close() lets in-flight jobs finish (a purge is one Sync call and one Redis script); a
      // retention run stops after its current batch.
      await Promise.all([worker.close(), maintenance.close(), retention.close()]);
      // After the workers: their last receipts get sealed (anything left stays pending).
      await sealer.stop();
      await Promise.all([queue.close(), maintenanceQueue.close()]);
      await Promise.all(connections.map(closeRedis));
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
