import { ConduitError } from '@conduit/shared';
import type { StateFiles } from '../platform/state-files.js';

/** A holder that died keeps the lock this long at most. */
const STALE_MS = 30_000;
const POLL_MS = 25;

/**
 * Runs `fn` while holding an exclusive lock file (0600, holding the time it was taken), so two
 * processes of one identity (a `receive --follow` and a `send`) never renew its session at once:
 * the second would present a refresh token the first has just traded, which the server takes for
 * a stolen copy. A lock left by a crashed process is broken once stale; so is one without a time
 * (its holder died between creating and writing it) once it has looked so for `staleMs`.
 */
export async function withStateLock<T>(
  files: StateFiles,
  path: string,
  fn: () => Promise<T>,
  staleMs = STALE_MS,
): Promise<T> {
  const started = Date.now();
  let timeless: number | undefined;
  while (!(await files.createNew(path, String(Date.now())))) {
    const written = Number(await files.read(path));
    const takenAt = Number.isFinite(written) && written > 0 ? written : (timeless ??= Date.now());
    if (Date.now() - takenAt > staleMs) {
      await files.remove(path);
      timeless = undefined;
      continue;
    }
    if (Date.now() - started > 2 * staleMs) throw new ConduitError('TIMEOUT', `The lock ${path} stayed taken.`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await files.remove(path);
  }
}
