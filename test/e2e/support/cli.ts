import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npx tsc -b` first). */
export const CLI = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `conduit <args>` to its exit; `uid`/`gid` run it as another user (tests run as root). */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number; uid?: number; gid?: number; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: opts.timeoutMs ?? 60_000, uid: opts.uid, gid: opts.gid },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
