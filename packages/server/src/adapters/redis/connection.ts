import { Redis } from 'ioredis';

/**
 * A command connection's bound on one command, queued or sent: a Redis that accepts connections
 * but does not answer (stopped, swapping, partitioned) must not hold a request open.
 */
export const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Command connections fail fast (a request should not hang on a dead Redis: two reconnect
 * attempts, then MaxRetriesPerRequestError, and never longer than COMMAND_TIMEOUT_MS); blocking
 * and BullMQ worker connections must retry forever (`maxRetriesPerRequest: null`), as BullMQ requires.
 */
export function connectRedis(url: string, kind: 'command' | 'blocking'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: kind === 'command' ? 2 : null,
    ...(kind === 'command' ? { commandTimeout: COMMAND_TIMEOUT_MS } : {}),
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}

/** Quits politely, falling back to a hard disconnect if Redis is already gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
