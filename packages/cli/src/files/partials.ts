import { join } from 'node:path';
import { PARTIAL_MAX_AGE_MS, removeAbandonedPartials, removeOrphanCheckpoints } from '@conduit/client';
import { ENV, type GlobalOptions } from '../settings/config.js';
import { identityHome } from '../settings/identity-home.js';

/** What a clean-up removed; `receive` runs it with the default age before it starts. */
export async function cleanPartials(
  g: GlobalOptions,
  outDir: string,
  maxAgeMs = PARTIAL_MAX_AGE_MS,
): Promise<{ folders: string[]; checkpoints: number }> {
  const folders = await removeAbandonedPartials(outDir, { maxAgeMs });
  // The identity is optional for `clean`: without one only the folder is cleaned.
  const who = (g.as ?? process.env[ENV.identity]) ? identityHome(g) : undefined;
  const checkpoints = who ? await removeOrphanCheckpoints(join(who.dir, 'downloads')) : 0;
  return { folders, checkpoints };
}
