#!/usr/bin/env node
/**
 * `conduit`: the command line of the Conduit client. Results go to stdout (JSON with --json),
 * problems to stderr as `error CODE: message` plus a hint. Exit codes are listed in ./errors.ts
 * (0 ok, 1 internal, 2 usage/config, 3 auth, 4 not found/exists, 5 integrity, 6 unavailable,
 * 7 timeout, 8 demo check failed).
 */
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConduitError } from '@conduit/shared';
import type { GroupView, PointerStatus } from '@conduit/shared';
import { ConduitClient } from '../conduit-client.js';
import type { ReceivedFile } from '../receive-pointer.js';
import { clientOptions, ENV, homeDir } from './config.js';
import type { GlobalOptions } from './config.js';
import { runDemo } from './demo.js';
import { describeFailure, EXIT } from './errors.js';
import { readPassword } from './password.js';
import { exportLines, runStack } from './stack.js';
import { abortAfter } from '../util/abort.js';

/** setTimeout's ceiling (~24.8 days): "no timeout" in practice. */
const FOREVER_MS = 2 ** 31 - 1;

function buildProgram(): Command {
  const program = new Command()
    .name('conduit')
    .description('End-to-end encrypted file sharing: files are encrypted on this device, for the group only.')
    .option('--home <dir>', `local state directory (env ${ENV.home}, default ~/.conduit)`)
    .option('--server <url>', `Conduit server URL (env ${ENV.server})`)
    .option('--as <identity>', `identity to act as (env ${ENV.identity})`)
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'diagnostics on stderr')
    .addHelpText(
      'after',
      `
Environment: ${ENV.password} (password; otherwise prompted on a terminal), ${ENV.virgilApiUrl},
${ENV.virgilServiceKey}, ${ENV.twilsockUri} (connection settings; \`conduit stack up\` prints them),
${ENV.debug}=1 (stack traces of unexpected errors).`,
    )
    .exitOverride()
    .showHelpAfterError();

  program
    .command('register')
    .description('create the account, register this device and a new key pair (backed up under the password)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.register(await readPassword({ confirm: true }));
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `registered ${client.identity} (device ${client.deviceId})`,
        ]);
      }),
    );

  program
    .command('login')
    .description('start a session on this device (restores the private key from its backup if needed)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.login(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `logged in as ${client.identity} (device ${client.deviceId})`,
        ]);
      }),
    );

  const group = program.command('group').description('manage groups');
  group
    .command('create')
    .argument('<members...>', 'identities to share with (you are the owner)')
    .description('create a group with a new group key')
    .action(async (members: string[], _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await client.createGroup(members);
        output(g, view, groupLines(view));
      }),
    );
  group
    .command('show')
    .argument('<groupId>')
    .description('show a group')
    .action(async (groupId: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await client.getGroup(groupId);
        output(g, view, groupLines(view));
      }),
    );

  program
    .command('send')
    .argument('<groupId>')
    .argument('<file>')
    .option('--name <name>', 'file name shown to recipients (default: the base name)')
    .option('--type <mediaType>', 'media type (default: guessed from the name)')
    .description('encrypt a file for the group and send it')
    .action(async (groupId: string, file: string, opts: { name?: string; type?: string }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const sent = await client.sendFile(groupId, file, opts);
        output(g, sent, [`sent pointer ${sent.pointerId} (${sent.size} bytes stored)`]);
      }),
    );

  program
    .command('receive')
    .argument('<groupId>')
    .option('--out <dir>', 'where received files are written (default: current directory)')
    .option('--once', 'exit after the first file')
    .option('--timeout <seconds>', 'stop after this many seconds (with --once: fail if nothing came)', seconds)
    .description('receive the group’s files (until Ctrl-C, --once or --timeout)')
    .action(async (groupId: string, opts: { out?: string; once?: boolean; timeout?: number }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const outDir = resolve(opts.out ?? '.');
        const timeoutMs = opts.timeout === undefined ? FOREVER_MS : opts.timeout * 1000;
        if (opts.once) {
          printFile(g, await client.receiveNext(groupId, { outDir, timeoutMs }));
          return;
        }
        const stop = abortAfter(interrupted(), timeoutMs);
        if (!g.json) console.error(`receiving into ${outDir} (Ctrl-C to stop)`);
        try {
          await client.receive(groupId, {
            outDir,
            signal: stop.signal,
            onFile: (f) => printFile(g, f),
            onError: (err) => printWarning(g, err),
          });
        } finally {
          stop.dispose();
        }
      }),
    );

  program
    .command('status')
    .argument('<pointerId>')
    .description('delivery state of a sent file')
    .action(async (pointerId: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const st = await client.status(pointerId);
        output(g, st, statusLines(st));
      }),
    );

  program
    .command('stack')
    .description('local development stack')
    .command('up')
    .option('--data <dir>', 'data directory (default: <home>/devstack)')
    .description('run the local stack (server, key directory, Sync, S3, Redis) until Ctrl-C')
    .action(async (opts: { data?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await runStack({
        dataDir: resolve(opts.data ?? resolve(homeDir(g), 'devstack')),
        log: (line) => console.error(line),
        signal: interrupted(),
        ready: (stack) =>
          output(g, { clientEnv: stack.clientEnv }, [
            '# local stack running; in another shell run:',
            ...exportLines(stack.clientEnv),
            '# Ctrl-C stops it',
          ]),
      });
    });

  program
    .command('demo')
    .option('--size <KiB>', 'size of the demo file in KiB', positiveInt, 256)
    .option('--keep', 'keep the temporary directory for inspection')
    .description('end-to-end demo on a throwaway local stack: alice sends bob a file, everything verified')
    .action(async (opts: { size: number; keep?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const steps = await runDemo({
        sizeKiB: opts.size,
        keep: opts.keep ?? false,
        print: (line) => (g.json ? undefined : console.log(line)),
        log: g.verbose ? (line) => console.error(line) : undefined,
        signal: interrupted(),
      });
      if (g.json) console.log(JSON.stringify({ ok: true, steps }));
    });

  return program;
}

async function withClient(cmd: Command, fn: (client: ConduitClient, g: GlobalOptions) => Promise<void>): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const client = await ConduitClient.open(clientOptions(g, g.verbose ? (l) => console.error(l) : () => undefined));
  try {
    await fn(client, g);
  } finally {
    await client.close();
  }
}

function output(g: GlobalOptions, value: unknown, lines: string[]): void {
  console.log(g.json ? JSON.stringify(value) : lines.join('\n'));
}

function printFile(g: GlobalOptions, f: ReceivedFile): void {
  output(g, f, [`received ${f.name} (${f.size} bytes, ${f.type}) from ${f.sender.identity} -> ${f.path}`]);
}

function printWarning(g: GlobalOptions, err: ConduitError): void {
  console.error(
    g.json
      ? JSON.stringify({ warning: { code: err.code, message: err.message } })
      : `warning ${err.code}: ${err.message}`,
  );
}

function groupLines(v: GroupView): string[] {
  return [`group ${v.groupId}`, `  owner   ${v.owner}`, `  members ${v.members.join(', ') || '(none)'}`];
}

function statusLines(s: PointerStatus): string[] {
  const acked = new Set(s.acknowledged.map((e) => `${e.identity}:${e.deviceId}`));
  return [
    `pointer ${s.pointerId}: ${s.state}${s.purgedAt ? ` at ${s.purgedAt}` : ''}`,
    `  acknowledged ${s.acknowledged.length}/${s.expected.length}`,
    ...s.expected.map(
      (e) => `  ${acked.has(`${e.identity}:${e.deviceId}`) ? '[x]' : '[ ]'} ${e.identity} (${e.deviceId})`,
    ),
  ];
}

/** Aborts on the first Ctrl-C / SIGTERM, so commands stop cleanly (stack stopped, Sync closed). */
let interruption: AbortController | undefined;
function interrupted(): AbortSignal {
  if (!interruption) {
    const controller = new AbortController();
    const onSignal = () => controller.abort(new ConduitError('CONFIG', 'Interrupted.'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    interruption = controller;
  }
  return interruption.signal;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n * 1000 > FOREVER_MS) throw new InvalidArgumentError('expected seconds > 0.');
  return n;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const failure = describeFailure(err);
    const json = argv.includes('--json');
    if (json) {
      console.error(JSON.stringify({ error: { code: failure.code, message: failure.message, hint: failure.hint } }));
    } else {
      console.error(`error ${failure.code}: ${failure.message}`);
      if (failure.hint) console.error(`hint: ${failure.hint}`);
    }
    if (process.env[ENV.debug] === '1' && failure.code === 'INTERNAL') console.error(err);
    return failure.exitCode;
  }
}

// The WASM crypto loader and Sync sockets can keep the loop alive: exit explicitly when done.
process.exit(await main(process.argv));
