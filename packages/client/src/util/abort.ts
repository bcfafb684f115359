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

/** A signal that aborts when `parent` does or after `ms` (a plain timer, kept alive while pending). */
export function abortAfter(parent: AbortSignal, ms: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const onParent = () => controller.abort();
  parent.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}
