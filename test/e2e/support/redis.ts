/**
 * Direct Redis access for tests that play the operator (or whoever took the server over): the
 * stack's Redis, single or a cluster (REDIS_URL=redis+cluster://...), through the server's own
 * connection code.
 */
import { Cluster } from 'ioredis';
import { AuditLog, connectRedis, createKeys, type RedisClient } from '@conduit/server';

export const openRedis = (url: string): RedisClient => connectRedis(url, 'command');

/** Every key of a deployment with this prefix: its own and BullMQ's hash-tagged ones (`{<prefix>bull}:`). */
export const deploymentKeyPatterns = (prefix: string): string[] => [`${prefix}*`, `{${prefix}*`];

/** The keys matching any pattern, from every master of a cluster. */
export async function scanKeys(redis: RedisClient, patterns: readonly string[]): Promise<string[]> {
  // A cluster client knows its nodes once it has read the slot map.
  if (redis instanceof Cluster && redis.status !== 'ready') await new Promise((ready) => redis.once('ready', ready));
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    for (const match of patterns) {
      for await (const batch of node.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
    }
  }
  return keys;
}

/**
 * Every audit entry of the deployment, in chain order. Seals what is pending first: reading the
 * pending lists and the chain separately races the worker's sealer, which moves entries from one
 * to the other between the two reads.
 */
export async function auditEntries(redis: RedisClient, prefix: string): Promise<Record<string, unknown>[]> {
  const keys = createKeys(prefix);
  await new AuditLog(redis, keys).seal('all');
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry);
}
