import { prepareOutDir } from '@conduit/client';
import { notice } from '../program/output.js';
import type { GlobalOptions } from '../settings/config.js';
import { cleanPartials } from './partials.js';

/**
 * `receive --out [--mkdir]`: checked before anything waits (a created folder is said so); then
 * abandoned partial downloads in it are removed (docs/cli.md, "Abandoned downloads").
 */
export async function checkOutDir(g: GlobalOptions, path: string, mkdir: boolean): Promise<string> {
  const { created } = await prepareOutDir(path, { mkdir });
  if (created) notice(g, { created: path }, `created ${path}`);
  const { folders } = await cleanPartials(g, path);
  if (folders.length > 0) {
    notice(g, { removedPartials: folders }, `removed ${folders.length} abandoned partial download(s) from ${path}`);
  }
  return path;
}
