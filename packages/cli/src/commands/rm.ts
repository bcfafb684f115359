import type { Command } from 'commander';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit rm <pointerId>`: withdraw a file you sent (or any file of a group you own). */
export function addRmCommand(program: Command): void {
  program
    .command('rm')
    .argument('<pointerId>')
    .description('withdraw a file you sent, or any file of a group you own: its copy on the server goes for good')
    .action(async (pointerId: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const w = await client.withdraw(pointerId);
        output(g, w, [`pointer ${w.pointerId}: withdrawn at ${w.withdrawnAt} by ${w.withdrawnBy}`]);
      }),
    );
}
