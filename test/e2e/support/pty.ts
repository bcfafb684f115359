import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { CLI } from './cli.js';

/** `conduit <args>` on a pseudo-terminal (util-linux `script`), driven like a person would. */
export interface PtySession {
  /**
   * Everything the terminal showed so far (stdout and stderr interleaved, echo included), without
   * colours and cursor moves (the prompt library redraws its line).
   */
  readonly output: () => string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  write(text: string): void;
  /** The CLI's exit code. */
  readonly exited: Promise<number>;
  kill(): void;
}

/** `after`: a shell command run on the same terminal once the CLI exited (e.g. `stty -a`). */
export function runCliOnPty(args: string[], env: NodeJS.ProcessEnv, opts: { after?: string } = {}): PtySession {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cli = [process.execPath, CLI, ...args].map(quote).join(' ');
  const command = opts.after ? `${cli}; code=$?; ${opts.after}; exit $code` : cli;
  // -e: script exits with the command's code; -f: flush each write; -q: no banner.
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  return {
    output: () => stripVTControlCharacters(text),
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stripVTControlCharacters(text))) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in: ${JSON.stringify(stripVTControlCharacters(text))}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    write: (s) => child.stdin.write(s),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}
