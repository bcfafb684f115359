import { ConduitError } from '@conduit/shared';
import type { StateFiles } from '../platform/state-files.js';

/** A holder that died keeps the lock this long at most. */
const STALE_MS = 30_000;
const POLL_MS = 25;
const GIVE_UP_MS = 2 * STALE_MS;

/**
 * Runs `fn` while holding an exclusive lock file (0600, holding the time it was taken), so two
 * processes of one identity (a `receive --follow` and a `send`) never renew its session at once:
 * the second would present a refresh token the first has just traded, which the server takes for
 * a stolen copy. A lock left by a crashed process is broken once stale.
 */
export async function withStateLock<T>(files: StateFiles, path: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  while (!(await files.createNew(path, String(Date.now())))) {
    const takenAt = Number(await files.read(path));
    if (Number.isFinite(takenAt) && takenAt > 0 && Date.now() - takenAt > STALE_MS) {
      await files.remove(path);
      continue;
    }
    if (Date.now() - started > GIVE_UP_MS) throw new ConduitError('TIMEOUT', `The lock ${path} stayed taken.`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await files.remove(path);
  }
}
