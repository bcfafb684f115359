import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A single Redis or a Redis Cluster: every key layout and script in this package works on both. */
export type RedisClient = Redis | Cluster;

/**
 * A command connection's bound on one command, queued or sent: a Redis that accepts connections
 * but does not answer (stopped, swapping, partitioned) must not hold a request open.
 */
export const COMMAND_TIMEOUT_MS = 5_000;

export interface ClusterUrl {
  nodes: { host: string; port: number }[];
  tls: boolean;
  username?: string;
  password?: string;
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/;

/**
 * `redis+cluster://[user:password@]host:port[,host:port...]` (or `rediss+cluster://` for TLS):
 * the seed nodes of a Redis Cluster. Null for any other URL (a single Redis).
 */
export function parseClusterUrl(url: string): ClusterUrl | null {
  if (!/^rediss?\+cluster:/.test(url)) return null;
  const m = CLUSTER_SCHEME.exec(url);
  if (!m) throw new Error('Redis cluster URL: expected redis+cluster://[user:password@]host:port[,host:port...]');
  const [, scheme, user, pass, hosts] = m;
  const nodes = hosts!.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    const port = Number(hostPort.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new Error(`Redis cluster URL: '${hostPort}' is not host:port`);
    }
    return { host: hostPort.slice(0, at), port };
  });
  return {
    nodes,
    tls: scheme === 'rediss',
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(pass ? { password: decodeURIComponent(pass) } : {}),
  };
}

/**
 * Command connections fail fast (a request should not hang on a dead Redis: two reconnect
 * attempts, then MaxRetriesPerRequestError, and never longer than COMMAND_TIMEOUT_MS); blocking
 * and BullMQ worker connections must retry forever (`maxRetriesPerRequest: null`), as BullMQ requires.
 */
export function connectRedis(
  url: string,
  kind: 'command' | 'blocking',
  /**
   * Commands issued in one tick leave in one socket write (a cluster always pipelines its command
   * connections): for a process with many operations in flight at once, such as the purge worker.
   */
  opts: { autoPipelining?: boolean } = {},
): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: kind === 'command' ? 2 : null,
    ...(kind === 'command' ? { commandTimeout: COMMAND_TIMEOUT_MS } : {}),
    ...(kind === 'command' && opts.autoPipelining ? { enableAutoPipelining: true } : {}),
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, options);
  return new Cluster(cluster.nodes, {
    redisOptions: {
      ...options,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
    },
    // Commands to different slots leave in one write per node instead of one each; never on a
    // connection that blocks (BLPOP, BullMQ's workers).
    enableAutoPipelining: kind === 'command',
  });
}

/** Quits politely, falling back to a hard disconnect if Redis is already gone. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
