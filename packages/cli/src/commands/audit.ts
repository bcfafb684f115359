import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  exportAuditFile,
  exportAuditFromServer,
  LocalState,
  nodePlatform,
  verifyAuditFile,
  verifyAuditFromServer,
  type AuditExport,
  type AuditSince,
} from '@conduit/client';
import type { AuditVerification } from '@conduit/shared';
import { ConduitError } from '@conduit/shared';
import { output } from '../program/output.js';
import { clientOptions, type GlobalOptions } from '../settings/config.js';

/** `conduit audit verify [--file <path>]` and `conduit audit export --since ...` (admin identities only). */
export function addAuditCommand(program: Command): void {
  const audit = program.command('audit').description('audit log (admin identities only)');
  audit
    .command('verify')
    .option('--file <path>', 'verify a saved NDJSON download instead of the server’s log')
    .description('check the hash chain of the audit log: any changed, removed or inserted record fails')
    .action(async (opts: { file?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result: AuditVerification = opts.file
        ? await verifyAuditFile(resolve(opts.file))
        : await withSession(g, (url, token, device) => verifyAuditFromServer(url, token, device));
      output(g, { ok: true, ...result }, [verifiedLine(result)]);
    });
  audit
    .command('export')
    .requiredOption(
      '--since <time|seq>',
      'first record: an ISO 8601 time (entries at or after it) or a record number',
      since,
    )
    .option('--out <file>', 'write the JSON Lines here instead of standard output')
    .option('--file <path>', 'export a saved NDJSON download instead of the server’s log')
    .description('verify the whole audit log, then write the records from --since as JSON Lines for an auditor')
    .action(async (opts: { since: AuditSince; out?: string; file?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result: AuditExport = opts.file
        ? await exportAuditFile(resolve(opts.file), opts.since)
        : await withSession(g, (url, token, device) => exportAuditFromServer(url, token, device, opts.since));
      const text = `${result.lines.join('\n')}\n`;
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      await writeFile(resolve(opts.out), text, { mode: 0o600 });
      const { head, base, exported } = result.header;
      output(g, { ok: true, out: resolve(opts.out), ...result.header }, [
        `exported ${exported} records to ${resolve(opts.out)}; chain verified ${base.seq + 1}..${head.seq}, head ${head.hash}`,
      ]);
    });
}

function verifiedLine(result: AuditVerification): string {
  if (!result.base) return `audit log intact: ${result.records} records, head ${result.head}`;
  const first = result.base.seq + 1;
  return `audit log intact: records 1..${result.base.seq} were trimmed by retention; verified ${first}..${result.base.seq + result.records}, head ${result.head}`;
}

/** `--since`: digits are a record number, anything else must be an ISO 8601 time. */
function since(value: string): AuditSince {
  if (/^[0-9]{1,15}$/.test(value)) {
    const seq = Number(value);
    if (seq < 1) throw new InvalidArgumentError('expected a record number from 1.');
    return { seq };
  }
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('expected an ISO 8601 time (2025-01-31T00:00:00Z) or a record number.');
  }
  return { at: new Date(value) };
}

/** Runs `call` with this profile's session (admin routes need a logged-in admin identity). */
async function withSession<T>(
  g: GlobalOptions,
  call: (serverUrl: string, token: string, deviceId: string) => Promise<T>,
): Promise<T> {
  const c = clientOptions(g, () => undefined);
  const state = await LocalState.open(c.home, c.identity, nodePlatform.stateFiles);
  const session = await state.loadSession();
  if (!session || Date.parse(session.expiresAt) <= Date.now())
    throw new ConduitError('UNAUTHENTICATED', 'Not logged in.');
  return call(c.serverUrl, session.token, state.deviceId);
}
