/**
 * What the production checks need to know of each Redis master: its eviction policy and whether
 * it persists. INFO works on managed Redis where CONFIG is disabled; CONFIG GET save is only used
 * when allowed (INFO does not show RDB save points).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseClusterUrl } from './connection.js';

export interface RedisDurability {
  /** host:port, as the cluster names it (or the URL's, for a single Redis). */
  node: string;
  maxmemoryPolicy: string;
  aofEnabled: boolean;
  /** CONFIG GET save: '' = no RDB snapshots; null = CONFIG is not allowed here. */
  rdbSavePoints: string | null;
}

/** Fails at once instead of retrying: a start-up check reports an absent Redis, it does not wait. */
const probeOptions = (timeoutMs: number): RedisOptions => ({
  lazyConnect: true,
  connectTimeout: timeoutMs,
  commandTimeout: timeoutMs,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
  enableOfflineQueue: false,
});

/** Each master's durability settings (one for a single Redis, every master of a cluster). */
export async function readRedisDurability(url: string, timeoutMs: number): Promise<RedisDurability[]> {
  const cluster = parseClusterUrl(url);
  if (!cluster) {
    const redis = new Redis(url, probeOptions(timeoutMs));
    // connect() only says "Connection is closed"; the socket's error (ECONNREFUSED...) says why.
    let cause: unknown;
    redis.on('error', (err) => (cause = err));
    try {
      await redis.connect().catch((err: unknown) => {
        throw cause ?? err;
      });
      return [await durabilityOf(redis, `${redis.options.host}:${redis.options.port}`)];
    } finally {
      redis.disconnect();
    }
  }
  const client = new Cluster(cluster.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    redisOptions: {
      ...probeOptions(timeoutMs),
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
    },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const masters = client.nodes('master');
    return await Promise.all(masters.map((node) => durabilityOf(node, `${node.options.host}:${node.options.port}`)));
  } finally {
    client.disconnect();
  }
}

async function durabilityOf(redis: Redis, node: string): Promise<RedisDurability> {
  const memory = parseInfo(await redis.info('memory'));
  const persistence = parseInfo(await redis.info('persistence'));
  let rdbSavePoints: string | null;
  try {
    const reply = (await redis.config('GET', 'save')) as string[];
    rdbSavePoints = reply[1] ?? '';
  } catch {
    rdbSavePoints = null; // CONFIG disabled or not granted (managed Redis, ACL users)
  }
  return {
    node,
    maxmemoryPolicy: memory.get('maxmemory_policy') ?? 'unknown',
    aofEnabled: persistence.get('aof_enabled') === '1',
    rdbSavePoints,
  };
}

/** `key:value` lines of an INFO section. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
