import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConduitError } from '@conduit/shared';
import { resolveGroup } from '../names/resolve.js';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit group delete <group> [--yes]`: the owner deletes a group and everything it stored. */
export function addGroupDeleteCommand(group: Command): void {
  group
    .command('delete')
    .argument('<group>', 'group id or name')
    .option('--yes', 'do not ask (required without a terminal)')
    .description('delete a group you own: its files, records and key, for every member; cannot be undone')
    .action(async (arg: string, opts: { yes?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groupId = await resolveGroup(client, arg);
        if (!opts.yes) {
          const terminal = !g.json && process.stdin.isTTY && process.stderr.isTTY;
          if (!terminal) {
            throw new ConduitError('VALIDATION_FAILED', 'Deleting a group cannot be undone: re-run with --yes.');
          }
          if (!(await confirm(groupId))) {
            throw new ConduitError('VALIDATION_FAILED', 'Not deleted (not confirmed).');
          }
        }
        const result = await client.deleteGroup(groupId);
        output(g, result, [`group ${groupId}: deleting (the server finishes it; its key is deleted)`]);
      }),
    );
}

async function confirm(groupId: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Delete group ${groupId} with every file and record in it, for all members? This cannot be undone. [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
