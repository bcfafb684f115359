import type { LocalStack } from '@conduit/devstack';
import { waitForAbort } from '../util/abort.js';

/** `conduit stack up`: runs the local stack in the foreground until `signal` aborts, then stops it cleanly. */
export async function runStack(opts: {
  dataDir: string;
  log: (line: string) => void;
  ready: (stack: LocalStack) => void;
  signal: AbortSignal;
}): Promise<void> {
  const { startLocalStack } = await import('@conduit/devstack');
  const stack = await startLocalStack({ dataDir: opts.dataDir, log: opts.log });
  try {
    opts.ready(stack);
    await waitForAbort(opts.signal);
  } finally {
    await stack.stop();
  }
}

/** `export NAME='value'` lines for a POSIX shell. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`);
}
