import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import { withSuffix } from './file-name.js';

const MAX_SUFFIX = 999;

/**
 * Writes `data` as a new file in `dir` named `name` (already sanitised), or `name (n)` when taken.
 * Atomic and never overwrites: the bytes go to a hidden temp file first, which is then hard-linked
 * to the final name (link fails with EEXIST instead of replacing, unlike rename). Owner-only mode,
 * since the contents are decrypted plaintext.
 */
export async function writeNewFile(dir: string, name: string, data: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.conduit-${randomBytes(8).toString('hex')}.partial`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    for (let n = 0; n <= MAX_SUFFIX; n++) {
      const target = join(dir, withSuffix(name, n));
      try {
        await link(tmp, target);
        return target;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new ConduitError('CONFIG', `Too many files named like "${name}" in the output directory.`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
