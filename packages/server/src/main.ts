#!/usr/bin/env node
import { ConduitError } from '@conduit/shared';
import { loadConfig } from './config.js';
import { runAccountCommand } from './ops/account-commands.js';
import { checkCommand } from './ops/check/run-check.js';
import { startServer, startWorker } from './server.js';
import type { Refusal } from './startup/refusal.js';

/**
 * `conduit-server [api|worker|all]` (and `conduit-server admin ...`, ops/account-commands.ts;
 * `conduit-server check`, ops/check/): configuration from the environment, graceful shutdown on signals.
 */
const ROLES = ['api', 'worker', 'all'] as const;
type Role = (typeof ROLES)[number];

async function main(): Promise<void> {
  if (process.argv[2] === 'admin') {
    // Operator commands on identities (ops/account-commands.ts): the output may be a secret code.
    const [command = '', arg, ...rest] = process.argv.slice(3);
    console.log(await runAccountCommand(() => loadConfig(process.env), command, arg, rest));
    return;
  }
  if (process.argv[2] === 'check') {
    // Read-only; the exit code says whether anything failed (2: usage).
    process.exitCode = await checkCommand(
      process.argv.slice(3),
      () => loadConfig(process.env),
      (t) => console.log(t),
    );
    return;
  }
  const role = (process.argv[2] ?? 'all') as Role;
  if (!ROLES.includes(role)) {
    console.error(
      `usage: conduit-server [${ROLES.join('|')}] | conduit-server admin <command> [identity] | conduit-server check [--json]`,
    );
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(process.env);
  const running: { close(): Promise<void> }[] = [];
  if (role === 'api' || role === 'all') running.push(await startServer(config));
  if (role === 'worker' || role === 'all') running.push(await startWorker(config));

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`conduit-server: ${signal}, shutting down`);
    // A hung dependency must not keep the process alive forever.
    setTimeout(() => process.exit(1), 15_000).unref();
    await Promise.allSettled(running.reverse().map((r) => r.close()));
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));
}

/** sysexits' EX_CONFIG: production mode refused the configuration (restarting will not help). */
const EXIT_PRODUCTION_UNSAFE = 78;

main().catch((err: unknown) => {
  // Config errors list variable names only; anything else is reported by type, never by payload.
  if (err instanceof ConduitError && (err.details as { usage?: boolean } | undefined)?.usage) {
    // A usage error (ops/hold-commands.ts usageError): the message is the usage.
    console.error(`conduit-server: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof ConduitError) console.error(`conduit-server: ${err.code}: ${err.message}`);
  else console.error(`conduit-server: failed to start: ${err instanceof Error ? err.message : 'unknown error'}`);
  if (err instanceof ConduitError && err.code === 'PRODUCTION_UNSAFE') {
    // One line per failed check, so a single restart shows everything to fix.
    for (const r of (err.details as { refusals: Refusal[] }).refusals) {
      console.error(`conduit-server:   ${r.check}: ${r.reason} [${r.settings.join(', ')}]`);
    }
    process.exit(EXIT_PRODUCTION_UNSAFE);
  }
  process.exit(1);
});
