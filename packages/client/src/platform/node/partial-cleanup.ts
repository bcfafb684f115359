import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { discardPartial, PARTIAL_FOLDER_PREFIX } from './partial-folder.js';

/**
 * Abandoned downloads: a `.conduit-partial-*` folder holds decrypted plaintext, so one that has
 * not been written for PARTIAL_MAX_AGE_MS (its pointer was purged, or the receiver moved on) is
 * removed by the next receive into its folder and by `conduit clean`. A download resumed within
 * that age keeps its folder: every verified range rewrites the file, which renews its age.
 */
export const PARTIAL_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** Removes this user's partial-download folders in `outDir` untouched for longer than `maxAgeMs`. */
export async function removeAbandonedPartials(
  outDir: string,
  opts: { maxAgeMs?: number; now?: number } = {},
): Promise<string[]> {
  const cutoff = (opts.now ?? Date.now()) - (opts.maxAgeMs ?? PARTIAL_MAX_AGE_MS);
  const names = await readdir(outDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(PARTIAL_FOLDER_PREFIX))) {
    const folder = join(outDir, name);
    const last = await lastWritten(folder);
    if (last !== undefined && last <= cutoff) {
      await discardPartial(folder);
      removed.push(folder);
    }
  }
  return removed;
}

/**
 * Drops checkpoints (`<identity>/downloads/*.json`) whose folder is gone: the download would start
 * over anyway, and an old checkpoint only names a folder where a stranger could put another one.
 */
export async function removeOrphanCheckpoints(downloadsDir: string): Promise<number> {
  const names = await readdir(downloadsDir).catch(() => [] as string[]);
  let count = 0;
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const path = join(downloadsDir, name);
    const folder = await readFile(path, 'utf8')
      .then((text) => (JSON.parse(text) as { folder?: unknown }).folder)
      .catch(() => undefined);
    if (typeof folder === 'string' && (await lstat(folder).catch(() => undefined))) continue;
    await rm(path, { force: true });
    count++;
  }
  return count;
}

/** The latest write to the folder or anything in it; undefined for what is not our own folder. */
async function lastWritten(folder: string): Promise<number | undefined> {
  const dir = await lstat(folder).catch(() => undefined);
  if (!dir?.isDirectory()) return undefined; // links and files under the prefix are left alone
  const uid = process.getuid?.();
  if (uid !== undefined && dir.uid !== uid) return undefined; // another user's download
  let last = dir.mtimeMs;
  for (const entry of await readdir(folder).catch(() => [] as string[])) {
    const st = await lstat(join(folder, entry)).catch(() => undefined);
    if (st) last = Math.max(last, st.mtimeMs);
  }
  return last;
}
