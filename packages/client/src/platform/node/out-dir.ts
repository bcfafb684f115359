import { mkdir, mkdtemp, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';

/** What prepareOutDir found: `created` when it made the folder (only with `mkdir`). */
export interface OutDirCheck {
  path: string;
  created: boolean;
}

/**
 * Checks a receive's output folder before anything waits for a file: it must exist (or be created
 * when `mkdir` asks for it) and take a new entry from this user. The probe is a real mkdtemp, like
 * the download's private folder, so it is right where mode bits are not the whole story (root,
 * ACLs, read-only mounts).
 */
export async function prepareOutDir(path: string, opts: { mkdir: boolean }): Promise<OutDirCheck> {
  const found = await stat(path).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw unusable(path, 'a part of the path is not a folder');
    if (code === 'EACCES') throw unusable(path, 'permission denied');
    throw err;
  });
  let created = false;
  if (!found) {
    if (!opts.mkdir) throw new ConduitError('OUT_DIR_MISSING', `The output folder ${path} does not exist.`);
    await mkdir(path, { recursive: true }).catch((err: unknown) => {
      throw unusable(path, `it cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    });
    created = true;
  } else if (!found.isDirectory()) {
    throw unusable(path, 'it is not a folder');
  }
  const probe = await mkdtemp(join(path, '.conduit-probe-')).catch((err: unknown) => {
    throw unusable(path, `this user cannot create files in it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  });
  await rmdir(probe);
  return { path, created };
}

const unusable = (path: string, why: string) =>
  new ConduitError('OUT_DIR_UNUSABLE', `Cannot receive into ${path}: ${why}.`);
