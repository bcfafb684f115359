/**
 * `conduit-devstack`: the local stack and the demo without the `conduit` CLI (which offers the same
 * as `conduit stack up` and `conduit demo` when this package is installed). Exit codes: 0 ok,
 * 1 failure, 2 usage or configuration, 8 a demo check failed, 130/143 interrupted.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConduitError } from '@conduit/shared';
import { DemoCheckFailed } from './demo-check.js';

const USAGE = `Usage: conduit-devstack stack up [--data <dir>] [--port <base>] [--redis-cluster] [--oidc] [--json]
       conduit-devstack demo [--size <KiB>] [--keep] [--json] [--verbose]
       conduit-devstack redis-cluster [--data <dir>] [--port <base>]`;

const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The first Ctrl-C / SIGTERM stops the command cleanly; a second one exits at once. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!controller.signal.aborted) return controller.abort(signal);
      process.exit(EXIT_BY_SIGNAL[signal]);
    });
  }
  return controller.signal;
}

function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${option}: expected a positive integer.`);
  return n;
}

/** node:util's parseArgs rejects unknown or malformed options with these codes. */
function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

async function run(argv: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      port: { type: 'string' },
      'redis-cluster': { type: 'boolean' },
      oidc: { type: 'boolean' },
      size: { type: 'string' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (values.help) return console.log(USAGE);
  // The stack and the demo load the server and the SDK: only once a command needs them.
  if (command === 'stack up') {
    const { runStack, stackBasePort, stackReadyLines } = await import('./stack-up.js');
    // Where `conduit` looks for a running stack by default: <CONDUIT_HOME or ~/.conduit>/devstack.
    const home = process.env.CONDUIT_HOME ?? join(homedir(), '.conduit');
    return runStack({
      dataDir: resolve(values.data ?? join(home, 'devstack')),
      basePort: stackBasePort(positiveInt(values.port, '--port')),
      redisCluster: values['redis-cluster'],
      oidc: values.oidc,
      log: (line) => console.error(line),
      signal,
      ready: (stack) =>
        console.log(
          values.json ? JSON.stringify({ clientEnv: stack.clientEnv }) : stackReadyLines(stack.clientEnv).join('\n'),
        ),
    });
  }
  if (command === 'demo') {
    const { runDemo } = await import('./demo.js');
    const steps = await runDemo({
      sizeKiB: positiveInt(values.size, '--size') ?? 256,
      keep: values.keep ?? false,
      print: (line) => (values.json ? undefined : console.log(line)),
      log: values.verbose ? (line) => console.error(line) : undefined,
      signal,
    });
    if (values.json) console.log(JSON.stringify({ ok: true, steps }));
    return;
  }
  if (command === 'redis-cluster') {
    // A fresh three-master cluster alone (CI runs the tests against it): its URL on stdout, then
    // it runs until Ctrl-C / SIGTERM stops all three nodes.
    const { startRedisCluster } = await import('../redis/cluster.js');
    const home = process.env.CONDUIT_HOME ?? join(homedir(), '.conduit');
    const cluster = await startRedisCluster({
      dataDir: resolve(values.data ?? join(home, 'redis-cluster')),
      basePort: positiveInt(values.port, '--port'),
    });
    try {
      console.log(cluster.url);
      console.error('# Redis Cluster running (3 masters); Ctrl-C stops it');
      await new Promise<void>((done) => {
        if (signal.aborted) done();
        else signal.addEventListener('abort', () => done(), { once: true });
      });
    } finally {
      await cluster.close();
    }
    return;
  }
  throw new UsageError(command ? `Unknown command: ${command}.` : 'No command.');
}

async function main(argv: string[]): Promise<number> {
  const signal = interruptSignal();
  try {
    await run(argv, signal);
    return 0;
  } catch (err) {
    if (signal.aborted) {
      console.error('interrupted');
      return EXIT_BY_SIGNAL[signal.reason as keyof typeof EXIT_BY_SIGNAL];
    }
    if (err instanceof UsageError || isParseArgsError(err)) {
      console.error(`error USAGE: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof DemoCheckFailed) {
      console.error(`error ${err.code}: ${err.message}`);
      return 8;
    }
    if (err instanceof ConduitError) {
      console.error(`error ${err.code}: ${err.message}`);
      return err.code === 'CONFIG' ? 2 : 1;
    }
    console.error(err);
    return 1;
  }
}

// Sockets and the WASM crypto loader can keep the loop alive: exit explicitly when done.
process.exit(await main(process.argv.slice(2)));
