/**
 * Resolves once any of `signals` aborts. Not `AbortSignal.any`: on Node 20 a composite signal is
 * only weakly held by its sources and can be garbage-collected before it fires (a waiter on an
 * `AbortSignal.any([..., AbortSignal.timeout(n)])` then never wakes).
 */
export function waitForAbort(...signals: Array<AbortSignal | undefined>): Promise<void> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  return new Promise<void>((resolve) => {
    if (live.some((s) => s.aborted)) return resolve();
    const done = () => {
      for (const s of live) s.removeEventListener('abort', done);
      resolve();
    };
    for (const s of live) s.addEventListener('abort', done, { once: true });
  });
}
