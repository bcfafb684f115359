/**
 * Runs `task` for every item with at most `limit` running at once, in item order. The first
 * failure stops new tasks from starting and is rethrown once the running ones have settled.
 */
export async function runBounded<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure) {
      if (signal?.aborted) {
        failure = { error: signal.reason };
        return;
      }
      const next = iterator.next();
      if (next.done) return;
      try {
        await task(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) throw failure.error;
}
