import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { groupDigits, type ConfirmTrust } from '@conduit/client';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit trust <identity>` (docs/cli.md, docs/identity.md). */
export function addTrustCommand(program: Command): void {
  program
    .command('trust <identity>')
    .option('--yes', 'do not ask (asked only on a terminal without --json)')
    .description("accept <identity>'s current key (after its key changed and you compared safety numbers)")
    .action(async (identity: string, opts: { yes?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const ask = !opts.yes && !g.json && process.stdin.isTTY && process.stderr.isTTY;
        const report = await client.trust(identity, ask ? { confirm: confirmOnTerminal(identity) } : {});
        const lines = report.previous
          ? [`old safety number: ${groupDigits(report.previous.safetyNumber)} (card ${report.previous.cardId})`]
          : [];
        lines.push(`new safety number: ${groupDigits(report.current.safetyNumber)} (card ${report.current.cardId})`);
        lines.push(
          report.changed
            ? `${report.peer}'s new key is pinned on this device.`
            : `${report.peer}'s key is pinned on this device (it had not changed).`,
        );
        output(g, report, lines);
      }),
    );
}

function confirmOnTerminal(identity: string): ConfirmTrust {
  return async (next) => {
    process.stderr.write(
      `${identity}'s current key${next.pinnedCardId === next.cardId ? ' (unchanged)' : ''}: card ${next.cardId}\n` +
        `safety number: ${groupDigits(next.safetyNumber)}\n`,
    );
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question('Did you compare this number with them, and does it match? [y/N] ');
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}
