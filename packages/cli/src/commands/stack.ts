import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_STACK_BASE_PORT, STACK_PORT_ENV } from '@conduit/shared';
import { interruptSignal } from '../process/interrupt.js';
import { loadDevstack } from '../program/devstack.js';
import { positiveInt } from '../program/options.js';
import { output } from '../program/output.js';
import { localStackDir, type GlobalOptions } from '../settings/config.js';

/** `conduit stack up`: the local stack of @conduit/devstack in the foreground, until Ctrl-C. */
export function addStackCommand(program: Command): void {
  program
    .command('stack')
    .description('local development stack')
    .command('up')
    .option('--data <dir>', 'data directory (default: <home>/devstack)')
    .option(
      '--port <base>',
      `first of 4 fixed ports (default ${STACK_PORT_ENV} or ${DEFAULT_STACK_BASE_PORT})`,
      positiveInt,
    )
    .option('--redis-cluster', 'run on a fresh local Redis Cluster of 3 masters instead of a single Redis')
    .option('--oidc', 'run the server in OIDC mode against a local identity provider (on the base port + 4)')
    .description('run the local stack (server, key directory, Sync, S3, Redis) until Ctrl-C')
    .action(async (opts: { data?: string; port?: number; redisCluster?: boolean; oidc?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // Taken before the devstack loads: Ctrl-C from here on stops it cleanly.
      const signal = interruptSignal();
      const { runStack, stackBasePort, stackReadyLines } = await loadDevstack();
      await runStack({
        dataDir: resolve(opts.data ?? localStackDir(g)),
        basePort: stackBasePort(opts.port),
        redisCluster: opts.redisCluster,
        oidc: opts.oidc,
        log: (line) => console.error(line),
        signal,
        ready: (stack) => output(g, { clientEnv: stack.clientEnv }, stackReadyLines(stack.clientEnv)),
      });
    });
}
