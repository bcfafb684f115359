import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LocalState, nodePlatform, verifyAuditFile, verifyAuditFromServer } from '@conduit/client';
import type { AuditVerification } from '@conduit/shared';
import { ConduitError } from '@conduit/shared';
import { output } from '../program/output.js';
import { clientOptions, type GlobalOptions } from '../settings/config.js';

/** `conduit audit verify [--file <path>]` (admin identities only). */
export function addAuditCommand(program: Command): void {
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
        const state = await LocalState.open(c.home, c.identity, nodePlatform.stateFiles);
        const session = await state.loadSession();
        if (!session || Date.parse(session.expiresAt) <= Date.now())
          throw new ConduitError('UNAUTHENTICATED', 'Not logged in.');
        result = await verifyAuditFromServer(c.serverUrl, session.token, state.deviceId);
      }
      output(g, { ok: true, ...result }, [`audit log intact: ${result.records} records, head ${result.head}`]);
    });
}
