import { Redis } from 'ioredis';

/**
 * Command connections fail fast (a request should not hang on a dead Redis); blocking and BullMQ
 * worker connections must retry forever (`maxRetriesPerRequest: null`), as BullMQ requires.
 */
export function connectRedis(url: string, kind: 'command' | 'blocking'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: kind === 'command' ? 2 : null,
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
