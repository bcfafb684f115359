import type { ServerConfig } from '../config.js';
import { readRedisDurability, type RedisDurability } from '../adapters/redis/server-info.js';
import { CHECK_TIMEOUT_MS, withTimeout, type Refusal } from './refusal.js';

/**
 * Redis holds accounts, group membership and the acknowledgement ledger: an evicted key or a
 * restart without persistence loses acknowledgements (pointers never purged, or purged twice) and
 * registrations. Every master of a cluster is checked.
 */
export async function checkRedisDurability(config: ServerConfig, timeoutMs = CHECK_TIMEOUT_MS): Promise<Refusal[]> {
  let nodes: RedisDurability[];
  try {
    nodes = await withTimeout(readRedisDurability(config.redisUrl, timeoutMs), timeoutMs * 2, 'Redis');
  } catch (err) {
    // Never the error text of a connection attempt verbatim: it can carry the URL's password.
    const reason = `could not be checked: Redis at REDIS_URL did not answer (${describe(err)})`;
    return [
      { check: 'redis-eviction', settings: ['REDIS_URL'], reason },
      { check: 'redis-persistence', settings: ['REDIS_URL'], reason },
    ];
  }
  const refusals: Refusal[] = [];
  const evicting = nodes.filter((n) => n.maxmemoryPolicy !== 'noeviction');
  if (evicting.length > 0) {
    refusals.push({
      check: 'redis-eviction',
      settings: ['maxmemory-policy'],
      reason:
        `Redis may evict keys: maxmemory-policy is ${listOf(evicting, (n) => n.maxmemoryPolicy)}; ` +
        'set it to noeviction (a full Redis then refuses writes instead of losing acknowledgements)',
    });
  }
  const volatile = nodes.filter((n) => !n.aofEnabled && (n.rdbSavePoints === null || n.rdbSavePoints === ''));
  if (volatile.length > 0) {
    refusals.push({
      check: 'redis-persistence',
      settings: ['appendonly'],
      reason:
        `Redis does not persist: ${listOf(volatile, persistenceOf)}; ` +
        'set appendonly yes (AOF; appendfsync everysec) or RDB save points',
    });
  }
  return refusals;
}

function persistenceOf(node: RedisDurability): string {
  return node.rdbSavePoints === null
    ? 'AOF off, RDB save points not visible (CONFIG is disabled)'
    : 'AOF off and no RDB save points';
}

function listOf(nodes: RedisDurability[], what: (n: RedisDurability) => string): string {
  return nodes.map((n) => `${what(n)} on ${n.node}`).join(', ');
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code)) return code;
  const message = err instanceof Error ? err.message : '';
  if (/did not answer within/.test(message)) return message.replace(/^Redis /, '');
  if (/timeout|timed out/i.test(message)) return 'timeout';
  if (/None of startup nodes|refresh slots/i.test(message)) return 'no cluster node answered';
  return 'connection failed';
}
