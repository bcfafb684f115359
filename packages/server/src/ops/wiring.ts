import type { ObjectStore, SyncAdmin } from '@conduit/shared';
import { Queue } from 'bullmq';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { OpsOptions } from './routes.js';
import { PURGE_QUEUE, type PurgeJobData } from '../delivery/purge/queue.js';
import type { Keys } from '../adapters/redis/keys.js';
import type { DeliveryMetrics } from './metrics.js';
import { startOpsServer, type RunningOpsServer } from './ops-server.js';
import type { ReadinessCheck } from './readiness.js';

interface OpsDeps {
  config: ServerConfig;
  redis: RedisClient;
  keys: Keys;
  objectStore: ObjectStore;
  syncAdmin: SyncAdmin;
  metrics: DeliveryMetrics;
  logger: Logger;
}

/** Sync answers an authenticated REST call (adapters without a probe, e.g. test fakes, count as up). */
function syncCheck(syncAdmin: SyncAdmin): ReadinessCheck {
  const probe = (syncAdmin as Partial<{ ping(): Promise<void> }>).ping;
  return probe ? () => probe.call(syncAdmin) : async () => undefined;
}

export function readinessChecks(
  deps: Pick<OpsDeps, 'redis' | 'objectStore' | 'syncAdmin'>,
): Record<string, ReadinessCheck> {
  return {
    redis: () => deps.redis.ping(),
    s3: () => deps.objectStore.ping(),
    sync: syncCheck(deps.syncAdmin),
  };
}

/**
 * The API's operational surface: probes, /metrics (queue depth gauges read through a Queue handle
 * of its own) and the dashboard over the purge queue.
 */
export function apiOps(deps: OpsDeps): { options: OpsOptions; close(): Promise<void> } {
  // Its own connection: BullMQ defines ~60 scripts on it, and ioredis copies them all onto every
  // pipeline/MULTI built on that connection, which the request path uses (~20 us each).
  const connection = deps.redis.duplicate();
  const queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection, prefix: deps.keys.bullPrefix() });
  const unwatch = deps.metrics.watchQueue(queue);
  const token = deps.config.ops?.metricsToken;
  return {
    options: {
      metrics: deps.metrics,
      readiness: readinessChecks(deps),
      ...(token ? { metricsToken: token } : {}),
      queues: [queue],
    },
    async close() {
      unwatch();
      await queue.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/** The worker's: queue gauges, and the ops listener when CONDUIT_OPS_PORT is set. */
export async function workerOps(
  deps: OpsDeps & { queue: Queue<PurgeJobData> },
): Promise<{ url?: string; close(): Promise<void> }> {
  const unwatch = deps.metrics.watchQueue(deps.queue);
  const { port, host, metricsToken } = deps.config.ops ?? {};
  let server: RunningOpsServer | undefined;
  if (port !== undefined) {
    server = await startOpsServer({
      host: host ?? '127.0.0.1',
      port,
      metrics: deps.metrics,
      readiness: readinessChecks(deps),
      logger: deps.logger,
      ...(metricsToken ? { metricsToken } : {}),
    });
    deps.logger.info({ url: server.url }, 'conduit ops listener');
  }
  return {
    ...(server ? { url: server.url } : {}),
    async close() {
      unwatch();
      await server?.close();
    },
  };
}
