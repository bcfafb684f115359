#!/usr/bin/env node
/**
 * `conduit`: the command line of the Conduit client. Results go to stdout (JSON with --json),
 * problems to stderr as `error CODE: message` plus a hint. Exit codes are listed in ./errors.ts
 * (0 ok, 1 internal, 2 usage/config, 3 auth, 4 not found/exists, 5 integrity, 6 unavailable,
 * 7 timeout, 8 demo check failed).
 */
// First: sets V8 flags before the other modules load, and the umask before anything is written.
import './v8-flags.js';
import './private-umask.js';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConduitError, DEFAULT_STACK_BASE_PORT, MAX_RECORD_BYTES } from '@conduit/shared';
import type { DeliveryStatus } from '../delivery/status.js';
import { verifyAuditFile, verifyAuditFromServer, type AuditVerification } from '../audit/verify.js';
import { ConduitClient } from '../conduit-client.js';
import { LocalState } from '../state/local-state.js';
import type { ReceivedFile } from '../receive-pointer.js';
import type { JsonValue } from '../records/replica.js';
import { clientOptions, ENV, localStackDir } from './config.js';
import type { GlobalOptions } from './config.js';
import { runDemo } from './demo.js';
import { describeFailure, EXIT, printFailure } from './errors.js';
import { afterInterruption, handleInterrupts, interruptSignal } from './interrupt.js';
import { progressDisplay } from './progress.js';
import type { ProgressDisplay } from './progress.js';
import { readPassword } from './password.js';
import { checkOutDir } from './out-dir.js';
import { unlockFirst } from './unlock.js';
import { watchMembership } from './membership-watch.js';
import { sendFiles, type SendCliOptions } from './send.js';
import { exportLines, runStack, STACK_PORT_ENV, stackBasePort } from './stack.js';
import { addTrustCommands } from './trust.js';
import { addReceivedCommand, receivedFiles } from './received.js';
import { addWhoamiCommand } from './whoami.js';
import { addCleanCommand } from './clean.js';
import {
  addNameCommands,
  deviceLines,
  groupLines,
  groupListLine,
  nameOption,
  nameThisDevice,
  showGroup,
} from './names.js';
import { resolveDevice, resolveGroup } from './resolve.js';
import { abortAfter } from '../util/abort.js';

/** The new password of `identity change-password` in scripts (otherwise prompted). */
const ENV_NEW_PASSWORD = 'CONDUIT_NEW_PASSWORD';

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
    .option('--code <code>', "a reserved name's one-time registration code (from the operator)")
    .option('--device-name <name>', 'name of this device, sealed for you (default: the host name)', nameOption)
    .action(async (opts: { code?: string; deviceName?: string }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.register(await readPassword({ confirm: true }), opts.code);
        await nameThisDevice(client, opts.deviceName);
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `registered ${client.identity} (device ${client.deviceId})`,
        ]);
      }),
    );

  program
    .command('login')
    .description('start a session on this device (restores the private key from its backup if needed)')
    .option(
      '--device-name <name>',
      'name of this device, sealed for you (default: the host name if unnamed)',
      nameOption,
    )
    .action(async (opts: { deviceName?: string }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.login(await readPassword({ confirm: false }));
        await nameThisDevice(client, opts.deviceName);
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `logged in as ${client.identity} (device ${client.deviceId})`,
        ]);
      }),
    );

  const identity = program
    .command('identity')
    .description('the private key of this identity: backup, restore, rotation, password, unregistering');
  identity
    .command('backup')
    .description('back the private key up under the password (register does it already)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const result = await client.backupKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, backup: result }, [
          result === 'created' ? 'private key backed up' : 'a backup exists already; nothing changed',
        ]);
      }),
    );
  identity
    .command('restore')
    .description("replace this device's private key with the one in the password backup")
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.restoreKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, deviceId: client.deviceId, restored: true }, [
          `private key of ${client.identity} restored from the backup on device ${client.deviceId}`,
        ]);
      }),
    );
  identity
    .command('rotate')
    .description('replace a lost or compromised private key with a new one (group owners must re-add you)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.rotateKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, rotated: true }, [
          `new private key for ${client.identity}, backed up under the password`,
          'next: ask the owner of each of your groups to run `conduit group readd <groupId> ' +
            `${client.identity}\`, and run \`conduit identity restore\` on your other devices`,
        ]);
      }),
    );
  identity
    .command('change-password')
    .description('change the password (key backup, server login and this device’s key store)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const old = await readPassword({ confirm: false });
        const next = await readPassword({ confirm: true, env: ENV_NEW_PASSWORD, label: 'New password' });
        await client.changePassword(old, next);
        output(g, { identity: client.identity, changed: true }, [
          'password changed; other devices unlock with the new one at their next login',
        ]);
      }),
    );
  identity
    .command('unregister')
    .option('--yes', 'confirm: this cannot be undone')
    .description('delete the key backup, revoke the public key, remove this device and wipe local state')
    .action(async (opts: { yes?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        if (!opts.yes) {
          throw new ConduitError(
            'VALIDATION_FAILED',
            'Unregistering deletes the private key and its backup: files shared with you become unreadable. Re-run with --yes.',
          );
        }
        const who = client.identity;
        await client.unregister(await readPassword({ confirm: false }));
        output(g, { identity: who, unregistered: true }, [`${who} unregistered; local state wiped`]);
      }),
    );

  const device = program.command('device').description('devices (endpoints) of this identity');
  device
    .command('ls')
    .description('list the devices registered for this identity')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const devices = await client.listDevices();
        output(g, { devices }, deviceLines(devices, client.deviceId));
      }),
    );
  device
    .command('revoke')
    .argument('<device>', 'device id or name')
    .description('revoke a device for good: its sessions are refused at once, its pending acknowledgements dropped')
    .action(async (arg: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const deviceId = await resolveDevice(client, arg);
        await client.revokeDevice(deviceId);
        output(g, { deviceId, revoked: true }, [`device ${deviceId} revoked`]);
      }),
    );

  const group = program.command('group').description('manage groups');
  group
    .command('ls')
    .description('list the groups you own or belong to')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groups = await Promise.all((await client.listGroups()).map((v) => showGroup(client, v)));
        output(g, { groups }, groups.length === 0 ? ['no groups'] : groups.map(groupListLine));
      }),
    );
  group
    .command('add')
    .argument('<group>', 'group id or name')
    .argument('<members...>', 'identities to add (they can read earlier files too)')
    .description('add members (owner only)')
    .action(async (arg: string, members: string[], _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await showGroup(client, await client.addMembers(await resolveGroup(client, arg), members));
        output(g, view, groupLines(view));
      }),
    );
  group
    .command('remove')
    .argument('<group>', 'group id or name')
    .argument('<identity>', 'the member to remove (yourself: leave the group)')
    .description('remove a member (owner only; new key epoch: it cannot read what is sent afterwards)')
    .action(async (arg: string, who: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groupId = await resolveGroup(client, arg);
        await client.removeMember(groupId, who);
        output(g, { groupId, removed: who }, [`${who} removed from group ${groupId}`]);
      }),
    );
  group
    .command('readd')
    .argument('<group>', 'group id or name')
    .argument('<identity>')
    .description('give the group key again to a member who rotated their key (owner only)')
    .action(async (arg: string, who: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groupId = await resolveGroup(client, arg);
        await client.reAddMember(groupId, who);
        output(g, { groupId, reAdded: who }, [`${who} re-added to group ${groupId}`]);
      }),
    );
  group
    .command('create')
    .argument('<members...>', 'identities to share with (you are the owner)')
    .description('create a group with a new group key')
    .option('--name <name>', 'name of the group (sealed for the members; only they can read it)', nameOption)
    .action(async (members: string[], opts: { name?: string }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await showGroup(client, await client.createGroup(members, { name: opts.name }));
        output(g, view, groupLines(view));
      }),
    );
  group
    .command('show')
    .argument('<group>', 'group id or name')
    .description('show a group')
    .action(async (arg: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await showGroup(client, await client.getGroup(await resolveGroup(client, arg)));
        output(g, view, groupLines(view));
      }),
    );
  addNameCommands(group, device, withClient, output);

  const record = program
    .command('record')
    .description("synced JSON records of a group (a local replica, caught up from the server's feed)")
    .addHelpText(
      'after',
      `
Each command first catches up from the group's feed (--offline: the local replica only).
Writes name the current head as their parent; if another device wrote first, the last writer wins.`,
    );
  record
    .command('put')
    .argument('<group>', 'group id or name')
    .argument('<key>', 'the record key (1-256 bytes of text)')
    .argument('<value>', 'JSON text (quote strings: \'"hi"\'), or @file to read JSON from a file')
    .description('write a record (a new version; earlier versions stay in its history)')
    .action(async (groupId: string, key: string, value: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        groupId = await resolveGroup(client, groupId);
        const json = await readJsonArgument(value);
        const records = await client.records(groupId);
        await records.sync();
        const { pointer: _pointer, ...written } = await records.put(key, json);
        output(g, written, [`${key}: version ${written.versionId} (seq ${written.seq})`]);
      }),
    );
  record
    .command('get')
    .argument('<group>', 'group id or name')
    .argument('<key>')
    .option('--offline', 'read the local replica without catching up')
    .description('print a record’s current value (JSON)')
    .action(async (groupId: string, key: string, opts: { offline?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        groupId = await resolveGroup(client, groupId);
        const records = await client.records(groupId);
        if (!opts.offline) await records.sync();
        const entry = records.get(key);
        if (!entry) {
          throw new ConduitError(
            'RECORD_NOT_FOUND',
            `No record ${JSON.stringify(key)} in this group (or it was deleted): see \`conduit record history\`.`,
          );
        }
        output(g, entry, [JSON.stringify(entry.value, null, 2)]);
      }),
    );
  record
    .command('history')
    .argument('<group>', 'group id or name')
    .argument('<key>')
    .option('--offline', 'read the local replica without catching up')
    .description('every version of a record, oldest first (deletions included)')
    .action(async (groupId: string, key: string, opts: { offline?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        groupId = await resolveGroup(client, groupId);
        const records = await client.records(groupId);
        if (!opts.offline) await records.sync();
        const versions = records.history(key);
        if (versions.length === 0) {
          throw new ConduitError('RECORD_NOT_FOUND', `No record ${JSON.stringify(key)} in this group.`);
        }
        output(
          g,
          { key, versions },
          versions.map(
            (v) =>
              `seq ${v.seq}  ${v.versionId}  ${v.createdAt}  ${v.sender.identity}/${v.sender.deviceId}  ` +
              (v.deleted ? '(deleted)' : JSON.stringify(v.value)),
          ),
        );
      }),
    );
  record
    .command('rm')
    .argument('<group>', 'group id or name')
    .argument('<key>')
    .description('delete a record (a tombstone version: its history stays)')
    .action(async (groupId: string, key: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        groupId = await resolveGroup(client, groupId);
        const records = await client.records(groupId);
        await records.sync();
        if (!records.get(key)) {
          throw new ConduitError('RECORD_NOT_FOUND', `No record ${JSON.stringify(key)} to delete in this group.`);
        }
        const { pointer: _pointer, ...written } = await records.delete(key);
        output(g, written, [`${key}: deleted (version ${written.versionId}, seq ${written.seq})`]);
      }),
    );
  record
    .command('ls')
    .argument('<group>', 'group id or name')
    .option('--offline', 'read the local replica without catching up')
    .description('the keys of the group’s live records')
    .action(async (groupId: string, opts: { offline?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        groupId = await resolveGroup(client, groupId);
        const records = await client.records(groupId);
        if (!opts.offline) await records.sync();
        const entries = records.list();
        output(
          g,
          { records: entries },
          entries.length === 0 ? ['no records'] : entries.map((e) => `${e.key}  (seq ${e.seq})`),
        );
      }),
    );

  program
    .command('send')
    .argument('<group>', 'group id or name')
    .argument('<files...>', 'files to send, one after the other; - reads standard input (needs --name)')
    .option('--name <name>', 'file name shown to recipients (default: the base name; one file only)')
    .option('--type <mediaType>', 'media type (default: guessed from the name)')
    .option('--resume', 'continue an interrupted send of this file to this group; fail if there is none')
    .option('--restart', 'abandon an interrupted send of this file and start over with a new key')
    .option('--no-pad', 'do not pad the stored size (PADME padding hides the exact size; on by default)')
    .option('--concurrency <n>', 'parts uploaded in parallel (default 4)', positiveInt)
    .option('--part-size <MiB>', 'plaintext per upload part in MiB (default 8)', positiveInt)
    .description('encrypt a file for the group while uploading it, and send it (resumable)')
    .action(async (group: string, files: string[], opts: SendCliOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groupId = await resolveGroup(client, group);
        await sendFiles(client, g, groupId, files, opts, {
          output,
          progress: () => progress(g),
          signal: interruptSignal(),
        });
      }),
    );

  program
    .command('receive')
    .argument('<group>', 'group id or name')
    .option('--out <dir>', 'where received files are written (default: current directory)')
    .option('--mkdir', 'create the --out folder if it does not exist')
    .option('--once', 'exit after the first file')
    .option('--timeout <seconds>', 'stop after this many seconds (with --once: fail if nothing came)', seconds)
    .option('--concurrency <n>', 'ranged downloads in parallel per file (default 4)', positiveInt)
    .description('receive the group’s files (until Ctrl-C, --once or --timeout); interrupted downloads resume')
    .action(async (groupId: string, opts: ReceiveCliOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const outDir = await checkOutDir(g, resolve(opts.out ?? '.'), opts.mkdir === true);
        await unlockFirst(client);
        groupId = await resolveGroup(client, groupId);
        const timeoutMs = opts.timeout === undefined ? FOREVER_MS : opts.timeout * 1000;
        const display = progress(g);
        const transfer = { concurrency: opts.concurrency, onProgress: display?.onProgress };
        const list = receivedFiles(g);
        if (opts.once) {
          try {
            const file = await client.receiveNext(groupId, { outDir, timeoutMs, ...transfer });
            display?.end();
            list.add(file);
            printFile(g, file);
          } finally {
            display?.end();
            await list.flush();
          }
          return;
        }
        const stop = abortAfter(interruptSignal(), timeoutMs);
        const membership = watchMembership(client, groupId, stop.signal);
        if (!g.json) console.error(`receiving into ${outDir} (Ctrl-C to stop)`);
        try {
          await client.receive(groupId, {
            outDir,
            ...transfer,
            signal: membership.signal,
            onFile: (f) => {
              display?.end();
              list.add(f);
              printFile(g, f);
            },
            onError: (err) => {
              display?.end();
              printWarning(g, err);
            },
          });
          membership.throwIfRemoved();
        } finally {
          membership.dispose();
          stop.dispose();
          await list.flush();
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
        const state = await LocalState.open(c.home, c.identity);
        const session = await state.loadSession();
        if (!session || Date.parse(session.expiresAt) <= Date.now())
          throw new ConduitError('UNAUTHENTICATED', 'Not logged in.');
        result = await verifyAuditFromServer(c.serverUrl, session.token, state.deviceId);
      }
      output(g, { ok: true, ...result }, [`audit log intact: ${result.records} records, head ${result.head}`]);
    });

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
    .description('run the local stack (server, key directory, Sync, S3, Redis) until Ctrl-C')
    .action(async (opts: { data?: string; port?: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await runStack({
        dataDir: resolve(opts.data ?? localStackDir(g)),
        basePort: stackBasePort(opts.port),
        log: (line) => console.error(line),
        signal: interruptSignal(),
        ready: (stack) =>
          output(g, { clientEnv: stack.clientEnv }, [
            '# local stack running; `conduit` with this home finds it; other shells or homes can export:',
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
        signal: interruptSignal(),
      });
      if (g.json) console.log(JSON.stringify({ ok: true, steps }));
    });

  addTrustCommands(program, withClient, output);
  addReceivedCommand(program, output);
  addWhoamiCommand(program, output);
  addCleanCommand(program, output);
  return program;
}

interface ReceiveCliOptions {
  out?: string;
  mkdir?: boolean;
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
  const client = await ConduitClient.open({
    ...clientOptions(g, g.verbose ? (l) => console.error(l) : () => undefined),
    // The private key is encrypted at rest under the password: commands that need it ask for it.
    keyPassword: () => readPassword({ confirm: false }),
  });
  try {
    await fn(client, g);
  } finally {
    await client.close();
  }
}

/** A record value from the command line: JSON text, or `@file` holding JSON. */
async function readJsonArgument(arg: string): Promise<JsonValue> {
  let text = arg;
  if (arg.startsWith('@')) {
    const path = resolve(arg.slice(1));
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) throw new ConduitError('VALIDATION_FAILED', `Cannot read ${path}.`);
    if (size > MAX_RECORD_BYTES) {
      throw new ConduitError('VALIDATION_FAILED', `A record holds at most ${MAX_RECORD_BYTES} bytes of JSON.`);
    }
    text = await readFile(path, 'utf8');
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new ConduitError(
      'VALIDATION_FAILED',
      `The value is not valid JSON. Quote text ('"hello"'), or pass @file to read JSON from a file.`,
    );
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

/** [v] verified receipt, [!] receipt the receiver's key did not sign, [ ] pending, [-] dropped. */
function statusLines(s: DeliveryStatus): string[] {
  const mark = { verified: '[v]', 'invalid-signature': '[!]', pending: '[ ]', dropped: '[-]' } as const;
  const count = (r: string) => s.delivery.filter((d) => d.receipt === r).length;
  const when = s.purgedAt ? ` at ${s.purgedAt}` : s.failedAt ? ` at ${s.failedAt}` : '';
  const invalid = count('invalid-signature');
  return [
    `pointer ${s.pointerId}: ${s.state}${s.reason ? ` (${s.reason})` : ''}${when}`,
    `  verified receipts ${count('verified')}/${s.expected.length}` +
      `${count('dropped') > 0 ? `, ${count('dropped')} dropped` : ''}` +
      `${invalid > 0 ? `, ${invalid} NOT SIGNED BY THE RECEIVER` : ''}`,
    ...s.delivery.map(
      (d) =>
        `  ${mark[d.receipt]} ${d.identity} (${d.deviceId})${d.receipt === 'invalid-signature' ? '  receipt signature invalid' : ''}`,
    ),
    ...s.anomalies.map((a) => `  anomaly: ${a.kind} (${a.code}) reported by ${a.identity} (${a.deviceId}) at ${a.at}`),
  ];
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
    const failure = describeFailure(afterInterruption(err));
    printFailure(failure, argv.includes('--json'));
    if (process.env[ENV.debug] === '1' && failure.code === 'INTERNAL') console.error(err);
    return failure.exitCode;
  }
}

// The WASM crypto loader and Sync sockets can keep the loop alive: exit explicitly when done.
handleInterrupts();
process.exit(await main(process.argv));
