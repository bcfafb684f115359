import type { Command } from 'commander';
import { groupDigits } from '@conduit/client';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit verify <identity>` (docs/cli.md, docs/identity.md). */
export function addVerifyCommand(program: Command): void {
  program
    .command('verify <identity>')
    .description("show the safety number of your key and <identity>'s pinned key, to compare out of band")
    .action(async (identity: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const report = await client.safetyNumber(identity);
        output(g, report, [
          `safety number of ${report.identity} and ${report.peer}:`,
          '',
          `  ${groupDigits(report.safetyNumber)}`,
          '',
          `Compare it with ${report.peer} in person or on a call you trust (they run \`conduit verify ${report.identity}\`).`,
          'Equal numbers: nobody substituted either key. Different: do not share anything; tell your administrator.',
        ]);
      }),
    );
}
