import type { ReceivedFile } from '@conduit/client';
import type { ConduitError } from '@conduit/shared';
import type { GlobalOptions } from '../settings/config.js';
import { progressDisplay, type ProgressDisplay } from '../output/progress.js';

/** A command's result on stdout: one JSON value with --json, else the human lines. */
export function output(g: GlobalOptions, value: unknown, lines: string[]): void {
  console.log(g.json ? JSON.stringify(value) : lines.join('\n'));
}

/** Something worth saying on stderr that is not a result (a folder created, partials removed); not with --quiet. */
export function notice(g: GlobalOptions, value: object, line: string): void {
  if (g.quiet) return;
  console.error(g.json ? JSON.stringify({ notice: value }) : line);
}

export function printFile(g: GlobalOptions, f: ReceivedFile): void {
  output(g, f, [`received ${f.name} (${f.size} bytes, ${f.type}) from ${f.sender.identity} -> ${f.path}`]);
}

export function printWarning(g: GlobalOptions, err: ConduitError): void {
  console.error(
    g.json
      ? JSON.stringify({ warning: { code: err.code, message: err.message } })
      : `warning ${err.code}: ${err.message}`,
  );
}

/** Progress on stderr, except with --json (machine output stays clean) or --quiet. */
export function progress(g: GlobalOptions): ProgressDisplay | undefined {
  return g.json || g.quiet ? undefined : progressDisplay();
}
