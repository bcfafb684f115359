import { link, lstat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import { withSuffix } from '../../files/file-name.js';

const MAX_SUFFIX = 999;

/**
 * Gives the finished temp file `source` its final name `name` (already sanitised) in `dir`, or
 * `name (n)` when taken, then removes the temp name. Never overwrites: a hard link fails with
 * EEXIST instead of replacing, unlike rename, and never follows a link at the target. A symbolic
 * link under the name is refused (UNSAFE_PATH) rather than stepped around: someone planted it.
 */
export async function linkNewFile(dir: string, name: string, source: string): Promise<string> {
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const target = join(dir, withSuffix(name, n));
    try {
      await link(source, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await lstat(target).catch(() => undefined);
      if (existing?.isSymbolicLink()) {
        throw new ConduitError('UNSAFE_PATH', `Refusing to name the download ${target}: it is a symbolic link.`);
      }
      continue;
    }
    await unlink(source);
    return target;
  }
  throw new ConduitError('CONFIG', `Too many files named like "${name}" in the output directory.`);
}
