import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PARTIAL_MAX_AGE_MS, removeAbandonedPartials, removeOrphanCheckpoints } from '../transfer/partial-cleanup.js';
import type { GlobalOptions } from './config.js';
import { ENV } from './config.js';
import { identityHome } from './identity-home.js';

type Output = (g: GlobalOptions, value: unknown, lines: string[]) => void;

const HOUR_MS = 60 * 60 * 1000;

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

/** `conduit clean [--out <dir>] [--older-than <hours>]`. */
export function addCleanCommand(program: Command, output: Output): void {
  program
    .command('clean')
    .option('--out <dir>', 'the receive folder to clean (default: current directory)')
    .option(
      '--older-than <hours>',
      `age of an abandoned download (default ${PARTIAL_MAX_AGE_MS / HOUR_MS}; 0: all)`,
      hours,
    )
    .description('remove abandoned partial downloads (decrypted, unfinished) and their checkpoints')
    .action(async (opts: { out?: string; olderThan?: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const outDir = resolve(opts.out ?? '.');
      const maxAgeMs = opts.olderThan === undefined ? PARTIAL_MAX_AGE_MS : opts.olderThan * HOUR_MS;
      const result = await cleanPartials(g, outDir, maxAgeMs);
      output(g, { outDir, removed: result.folders, checkpoints: result.checkpoints }, [
        `removed ${result.folders.length} abandoned partial download(s) from ${outDir}` +
          (result.checkpoints > 0 ? ` and ${result.checkpoints} stale checkpoint(s)` : ''),
      ]);
    });
}

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected hours >= 0.');
  return n;
}
