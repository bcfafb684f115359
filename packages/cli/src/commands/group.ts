import type { Command } from 'commander';
import { resolveGroup } from '../names/resolve.js';
import { addGroupDeleteCommand } from './group-delete.js';
import { groupLines, groupListLine, showGroup } from '../names/shown.js';
import { withClient } from '../program/client.js';
import { nameOption } from '../program/options.js';
import { output } from '../program/output.js';
import { addGroupRetentionCommand } from './group-retention.js';

/** `conduit group ls | add | remove | readd | create | show | rename | retention | delete`. */
export function addGroupCommands(program: Command): void {
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
  group
    .command('rename')
    .argument('<group>', 'group id or name')
    .argument('<name>', 'the new name (sealed for the members; only they can read it)')
    .description('name or rename a group (owner only)')
    .action(async (arg: string, name: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await client.renameGroup(await resolveGroup(client, arg), name);
        const shown = await showGroup(client, view);
        output(g, shown, groupLines(shown));
      }),
    );
  addGroupRetentionCommand(group);
  addGroupDeleteCommand(group);
}
