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
import { verifyAuditFile, verifyAuditFromServer, type AuditVerification } from '../audit/verify.js';
import { ConduitClient } from '../conduit-client.js';
import { LocalState } from '../state/local-state.js';
import type { ReceivedFile } from '../receive-pointer.js';
import { clientOptions, ENV, homeDir } from './config.js';
import type { GlobalOptions } from './config.js';
import { runDemo } from './demo.js';
import { describeFailure, EXIT } from './errors.js';
import { progressDisplay } from './progress.js';
import type { ProgressDisplay } from './progress.js';
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
    .option('--resume', 'continue an interrupted send of this file to this group; fail if there is none')
    .option('--restart', 'abandon an interrupted send of this file and start over with a new key')
    .option('--no-pad', 'do not pad the stored size (PADME padding hides the exact size; on by default)')
    .option('--concurrency <n>', 'parts uploaded in parallel (default 4)', positiveInt)
    .option('--part-size <MiB>', 'plaintext per upload part in MiB (default 8)', positiveInt)
    .description('encrypt a file for the group while uploading it, and send it (resumable)')
    .action(async (groupId: string, file: string, opts: SendCliOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        if (opts.resume && opts.restart)
          throw new ConduitError('VALIDATION_FAILED', 'Use --resume or --restart, not both.');
        const display = progress(g);
        try {
          const sent = await client.sendFile(groupId, file, {
            name: opts.name,
            type: opts.type,
            pad: opts.pad,
            concurrency: opts.concurrency,
            partSize: opts.partSize === undefined ? undefined : opts.partSize * 1024 * 1024,
            resume: opts.resume ? 'require' : opts.restart ? 'never' : 'auto',
            onProgress: display?.onProgress,
            signal: interrupted(),
          });
          display?.end();
          const { pointer: _pointer, ...summary } = sent;
          output(g, summary, [
            `sent pointer ${sent.pointerId} (${sent.plainLength} bytes, ${sent.size} stored${sent.resumed ? ', resumed' : ''})`,
          ]);
        } finally {
          display?.end();
        }
      }),
    );

  program
    .command('receive')
    .argument('<groupId>')
    .option('--out <dir>', 'where received files are written (default: current directory)')
    .option('--once', 'exit after the first file')
    .option('--timeout <seconds>', 'stop after this many seconds (with --once: fail if nothing came)', seconds)
    .option('--concurrency <n>', 'ranged downloads in parallel per file (default 4)', positiveInt)
    .description('receive the group’s files (until Ctrl-C, --once or --timeout); interrupted downloads resume')
    .action(async (groupId: string, opts: ReceiveCliOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const outDir = resolve(opts.out ?? '.');
        const timeoutMs = opts.timeout === undefined ? FOREVER_MS : opts.timeout * 1000;
        const display = progress(g);
        const transfer = { concurrency: opts.concurrency, onProgress: display?.onProgress };
        if (opts.once) {
          try {
            const file = await client.receiveNext(groupId, { outDir, timeoutMs, ...transfer });
            display?.end();
            printFile(g, file);
          } finally {
            display?.end();
          }
          return;
        }
        const stop = abortAfter(interrupted(), timeoutMs);
        if (!g.json) console.error(`receiving into ${outDir} (Ctrl-C to stop)`);
        try {
          await client.receive(groupId, {
            outDir,
            ...transfer,
            signal: stop.signal,
            onFile: (f) => {
              display?.end();
              printFile(g, f);
            },
            onError: (err) => {
              display?.end();
              printWarning(g, err);
            },
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
    .command('audit')
    .description('audit log (admin identities only)')
    .command('verify')
    .option('--file <path>', 'verify a saved NDJSON download instead of the server’s log')
    .description('check the hash chain of the audit log: any changed, removed or inserted record fails')
    .action(async (opts: { file?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      let result: AuditVerification;
      if (opts.file) result = await verifyAuditFile(resolve(opts.file));
      else {
        const c = clientOptions(g, () => undefined);
        const session = await (await LocalState.open(c.home, c.identity)).loadSession();
        if (!session || Date.parse(session.expiresAt) <= Date.now())
          throw new ConduitError('UNAUTHENTICATED', 'Not logged in.');
        result = await verifyAuditFromServer(c.serverUrl, session.token);
      }
      output(g, { ok: true, ...result }, [`audit log intact: ${result.records} records, head ${result.head}`]);
    });

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

interface SendCliOptions {
  name?: string;
  type?: string;
  resume?: boolean;
  restart?: boolean;
  pad: boolean;
  concurrency?: number;
  partSize?: number;
}

interface ReceiveCliOptions {
  out?: string;
  once?: boolean;
  timeout?: number;
  concurrency?: number;
}

/** Progress on stderr, except with --json (machine output stays clean). */
function progress(g: GlobalOptions): ProgressDisplay | undefined {
  return g.json ? undefined : progressDisplay();
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
  const key = (e: { identity: string; deviceId: string }) => `${e.identity}:${e.deviceId}`;
  const acked = new Set(s.acknowledged.map(key));
  const dropped = new Set((s.dropped ?? []).map(key));
  const when = s.purgedAt ? ` at ${s.purgedAt}` : s.failedAt ? ` at ${s.failedAt}` : '';
  return [
    `pointer ${s.pointerId}: ${s.state}${s.reason ? ` (${s.reason})` : ''}${when}`,
    `  acknowledged ${s.acknowledged.length}/${s.expected.length}${dropped.size > 0 ? `, ${dropped.size} dropped` : ''}`,
    ...s.expected.map(
      (e) => `  ${acked.has(key(e)) ? '[x]' : dropped.has(key(e)) ? '[-]' : '[ ]'} ${e.identity} (${e.deviceId})`,
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
