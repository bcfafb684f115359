import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ConduitError } from '@conduit/shared';

/** `-` among the files of `send`: standard input. */
export const STDIN = '-';

/** A file named on the command line, checked before anything is encrypted or uploaded. */
export async function sendablePath(file: string): Promise<string> {
  const path = resolve(file);
  const found = await stat(path).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!found) throw new ConduitError('FILE_NOT_FOUND', `No file ${path} to send.`);
  if (!found.isFile())
    throw new ConduitError('FILE_NOT_FOUND', `${path} is not a regular file: send files one by one.`);
  return path;
}

/**
 * Standard input copied to a private file (0600 in a fresh 0700 folder), because a send reads its
 * plaintext twice (hashing and encrypting, by ranges) and a pipe can be read only once. The
 * caller removes it with `dispose` as soon as the send ends, sent or not.
 */
export async function spoolStdin(
  input: NodeJS.ReadableStream,
  signal?: AbortSignal,
): Promise<{ path: string; dispose: () => Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'conduit-stdin-'));
  const dispose = () => rm(folder, { recursive: true, force: true });
  const path = join(folder, 'input');
  try {
    await pipeline(input, createWriteStream(path, { mode: 0o600, flags: 'wx' }), { signal });
  } catch (err) {
    await dispose();
    throw err;
  }
  return { path, dispose };
}
