import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { PARTIAL_MAX_AGE_MS } from '@conduit/client';
import { cleanPartials } from '../files/partials.js';
import { output } from '../program/output.js';
import type { GlobalOptions } from '../settings/config.js';

const HOUR_MS = 60 * 60 * 1000;

/** `conduit clean [--out <dir>] [--older-than <hours>]`. */
export function addCleanCommand(program: Command): void {
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
