import { link, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import { withSuffix } from './file-name.js';

const MAX_SUFFIX = 999;

/**
 * Gives the finished temp file `source` (in `dir`) its final name `name` (already sanitised), or
 * `name (n)` when taken, then removes the temp name. Never overwrites: a hard link fails with
 * EEXIST instead of replacing, unlike rename.
 */
export async function linkNewFile(dir: string, name: string, source: string): Promise<string> {
  try {
    for (let n = 0; n <= MAX_SUFFIX; n++) {
      const target = join(dir, withSuffix(name, n));
      try {
        await link(source, target);
        return target;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new ConduitError('CONFIG', `Too many files named like "${name}" in the output directory.`);
  } finally {
    await unlink(source).catch(() => undefined);
  }
}
