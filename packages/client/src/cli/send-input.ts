import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConduitError } from '@conduit/shared';

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
