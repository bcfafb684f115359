import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import type { PartialFile } from '../download-sink.js';
import { linkNewFile } from './write-new-file.js';

/**
 * Where a download's plaintext lives until every segment verified: a private folder of its own
 * (`<out>/.conduit-partial-XXXXXX`, 0700, one per download) holding one file (0600). Nothing in it
 * is ever reached through a symbolic link, so a link planted in a shared output folder cannot
 * redirect the write; the file gets its final name only by a hard link, which never replaces an
 * existing name.
 */

/** Names of download folders start with this (abandoned ones are recognisable for cleanup). */
export const PARTIAL_FOLDER_PREFIX = '.conduit-partial-';
const PARTIAL_FILE = 'content';

// Windows has no O_NOFOLLOW (and no symlink planting by other users in a private profile).
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | NOFOLLOW;
// O_NONBLOCK: a FIFO planted under the name fails at once instead of blocking the open.
const REOPEN = constants.O_WRONLY | NOFOLLOW | (constants.O_NONBLOCK ?? 0);

/** A partial of this sink: its writer is a node:fs FileHandle. */
export interface NodePartialFile extends PartialFile {
  fh: FileHandle;
}

const unsafe = (path: string, why: string) =>
  new ConduitError('UNSAFE_PATH', `Refusing to write the download through ${path}: ${why}.`);

/** A fresh private folder in `outDir` and an empty partial file in it, both created exclusively. */
export async function createPartial(outDir: string): Promise<NodePartialFile> {
  // mkdtemp makes a new directory (0700) under a random name: it never reuses an existing one.
  const folder = await mkdtemp(join(outDir, PARTIAL_FOLDER_PREFIX));
  try {
    return { folder, ...(await createFile(folder)) };
  } catch (err) {
    await discardPartial(folder);
    throw err;
  }
}

/**
 * The partial file of an interrupted download, after checking its folder is still this user's
 * private directory and the file a regular file of its own; undefined when the folder is gone.
 * Anything else (a link, a foreign or widened folder, a hard-linked file) is refused.
 */
export async function reopenPartial(folder: string): Promise<NodePartialFile | undefined> {
  const dir = await lstat(folder).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  if (!dir) return undefined;
  if (dir.isSymbolicLink()) throw unsafe(folder, 'it is a symbolic link');
  if (!dir.isDirectory()) throw unsafe(folder, 'it is not a directory');
  assertPrivate(folder, dir, 0o700);

  const path = join(folder, PARTIAL_FILE);
  let fh: FileHandle;
  try {
    fh = await open(path, REOPEN);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { folder, ...(await createFile(folder)) };
    if (code === 'ELOOP' || code === 'ENXIO') throw unsafe(path, 'it is a symbolic link or a pipe');
    throw err;
  }
  try {
    const file = await fh.stat();
    if (!file.isFile()) throw unsafe(path, 'it is not a regular file');
    // A second name would let this write land in a file elsewhere.
    if (file.nlink !== 1) throw unsafe(path, 'it has other hard links');
    assertPrivate(path, file, 0o600);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return { folder, path, fh, resumed: true };
}

/**
 * Gives the verified, synced and closed partial file its final name in `outDir` (`name`, or
 * `name (n)` when taken; a symbolic link under the name is refused), then removes its folder.
 */
export async function publishPartial(partial: PartialFile, outDir: string, name: string): Promise<string> {
  const final = await linkNewFile(outDir, name, partial.path);
  await syncDirectory(outDir);
  await discardPartial(partial.folder);
  return final;
}

/** Removes a download's private folder (rm never follows links inside it). */
export async function discardPartial(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

async function createFile(folder: string): Promise<Omit<NodePartialFile, 'folder'>> {
  const path = join(folder, PARTIAL_FILE);
  try {
    return { path, fh: await open(path, CREATE, 0o600), resumed: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw unsafe(path, 'something else was put there');
    throw err;
  }
}

function assertPrivate(path: string, stats: Stats, mode: number): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: no POSIX owner or mode
  if (stats.uid !== uid) throw unsafe(path, 'another user owns it');
  if ((stats.mode & 0o777) !== mode) throw unsafe(path, `its mode is not ${mode.toString(8)}`);
}

/** Makes the new name durable; best effort where directories cannot be synced. */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}
