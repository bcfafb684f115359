import { ConduitError } from '@conduit/shared';

/** The version write is idempotent on the server (same versionId, same content): one retry on a lost answer. */
export async function retryOnce<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ConduitError) || (err.code !== 'TRANSPORT' && err.code !== 'TIMEOUT')) throw err;
    return fn();
  }
}

/** `fn` over `items`, at most `limit` at once, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
