import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import { freePort } from '../net.js';
import { stopChild } from '../s3/index.js';
import { clusterAnswers, clusterSeeds, startRedisCluster } from './cluster.js';
import { answers, startRedisServer } from './server.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** `1` makes the local stack start a Redis Cluster when no cluster answers at REDIS_URL. */
export const REDIS_CLUSTER_ENV = 'CONDUIT_STACK_REDIS_CLUSTER';

export interface LocalRedis {
  /** `redis://host:port`, or `redis+cluster://host:port,...` for a cluster. */
  url: string;
  /** True when this process started the server(s) (and `close` stops them). */
  started: boolean;
  close(): Promise<void>;
}

export interface EnsureRedisOptions {
  url?: string;
  dataDir: string;
  /** A Redis Cluster: the one at a `redis+cluster://` URL if it answers, else a fresh local one. */
  cluster?: boolean;
}

/**
 * Uses the Redis answering at `url` (REDIS_URL or the default); if none answers, starts
 * `redis-server` from PATH on a free port with AOF in `dataDir`. With a `redis+cluster://` URL it
 * uses that cluster; asked for a cluster (option or CONDUIT_STACK_REDIS_CLUSTER=1) and none answers,
 * it starts a fresh three-master one in `<dataDir>/cluster`.
 */
export async function ensureRedis(opts: EnsureRedisOptions): Promise<LocalRedis> {
  const url = opts.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const wantCluster = opts.cluster ?? process.env[REDIS_CLUSTER_ENV] === '1';
  const seeds = clusterSeeds(url);
  const reuse = { url, started: false, close: async () => {} };
  if (seeds) {
    if (await clusterAnswers(seeds)) return reuse;
    if (!wantCluster) {
      throw new ConduitError(
        'CONFIG',
        `No Redis Cluster answers at ${url}. Start it, or set ${REDIS_CLUSTER_ENV}=1 for a fresh local one.`,
      );
    }
  } else if (!wantCluster && (await answers(url))) {
    return reuse;
  }
  if (wantCluster) return startRedisCluster({ dataDir: join(opts.dataDir, 'cluster') });

  await mkdir(opts.dataDir, { recursive: true });
  const port = await freePort();
  const child = await startRedisServer({ port, dir: opts.dataDir, wanted: url });
  return { url: `redis://127.0.0.1:${port}`, started: true, close: () => stopChild(child) };
}
