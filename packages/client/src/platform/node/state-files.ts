import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StateFiles } from '../state-files.js';

/** State files on the local disk, owner-only (0700 folders, 0600 files). */
export const nodeStateFiles: StateFiles = {
  join,
  makeDir: async (path) => {
    await mkdir(path, { recursive: true, mode: 0o700 });
  },
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  async createNew(path, text) {
    try {
      // 'wx': if two processes race on first use, exactly one write wins.
      await writeFile(path, text, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  },
  async replace(path, text) {
    const tmp = tempName(path);
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  },
  replaceDurably: writeFileAtomic,
  append: (path, text) => appendFile(path, text, { mode: 0o600 }),
  async openAppender(path) {
    const handle = await open(path, 'a', 0o600);
    return {
      append: async (text) => {
        await handle.write(text);
      },
      close: () => handle.close(),
    };
  },
  rename,
  remove: (path) => rm(path, { force: true }),
  list: async (dir) => {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
};

const tempName = (path: string) => `${path}.${randomBytes(6).toString('hex')}.tmp`;

/** Replaces `path` (0600, parent 0700) with `text`, durably: a crash leaves the old or the new file. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = tempName(path);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
