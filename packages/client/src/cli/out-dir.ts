import { prepareOutDir } from '../transfer/out-dir.js';
import type { GlobalOptions } from './config.js';

/** `receive --out [--mkdir]`: checked before anything waits; a created folder is said so. */
export async function checkOutDir(g: GlobalOptions, path: string, mkdir: boolean): Promise<string> {
  const { created } = await prepareOutDir(path, { mkdir });
  if (created) console.error(g.json ? JSON.stringify({ notice: { created: path } }) : `created ${path}`);
  return path;
}
