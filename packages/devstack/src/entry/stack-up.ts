import { ConduitError, DEFAULT_STACK_BASE_PORT, STACK_PORT_ENV } from '@conduit/shared';
import { isPortFree } from '../net.js';
import { startLocalStack, type LocalStack } from '../stack.js';

/** Ports `stack up` binds from its base: API, Virgil directory, Sync emulator, S3 (+ the OIDC provider). */
const PORTS_USED = 4;

/** `--port`, else CONDUIT_STACK_PORT, else the documented default. */
export function stackBasePort(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = option ?? env[STACK_PORT_ENV] ?? DEFAULT_STACK_BASE_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 65535 - PORTS_USED) {
    throw new ConduitError('CONFIG', `Invalid stack base port ${String(raw)}: expected 1024-${65535 - PORTS_USED}.`);
  }
  return port;
}

/** `stack up`: runs the local stack in the foreground until `signal` aborts, then stops it cleanly. */
export async function runStack(opts: {
  dataDir: string;
  basePort: number;
  /** A fresh local Redis Cluster of three masters instead of the single Redis. */
  redisCluster?: boolean;
  /** The API in OIDC mode against a local OpenID Provider on basePort + 4. */
  oidc?: boolean;
  log: (line: string) => void;
  ready: (stack: LocalStack) => void;
  signal: AbortSignal;
}): Promise<void> {
  await requireFreePorts(opts.basePort, PORTS_USED + (opts.oidc ? 1 : 0));
  const stack = await startLocalStack({
    dataDir: opts.dataDir,
    basePort: opts.basePort,
    redisCluster: opts.redisCluster,
    oidc: opts.oidc,
    log: opts.log,
  });
  try {
    opts.ready(stack);
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await stack.stop();
  }
}

/** What `stack up` prints once the stack is ready (without --json). */
export function stackReadyLines(clientEnv: Partial<Record<string, string>>): string[] {
  return [
    '# local stack running; `conduit` with this home finds it; other shells or homes can export:',
    ...exportLines(clientEnv),
    '# Ctrl-C stops it',
  ];
}

/** Says which port is taken up front, rather than failing half-way through starting the stack. */
async function requireFreePorts(base: number, count: number): Promise<void> {
  for (let port = base; port < base + count; port++) {
    if (!(await isPortFree(port))) {
      throw new ConduitError(
        'CONFIG',
        `Port ${port} is in use (the stack uses ${base}-${base + count - 1}): is a local stack already running? Stop it, or pass --port <base>.`,
      );
    }
  }
}

/** `export NAME='value'` lines for a POSIX shell. */
function exportLines(env: Partial<Record<string, string>>): string[] {
  return Object.entries(env).flatMap(([name, value]) =>
    value === undefined ? [] : [`export ${name}='${value.replaceAll("'", `'\\''`)}'`],
  );
}
