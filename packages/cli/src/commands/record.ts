import type { Command } from 'commander';
import { ConduitError } from '@conduit/shared';
import { readJsonArgument } from '../files/json-argument.js';
import { resolveGroup } from '../names/resolve.js';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit record put | get | history | rm | ls`: a group's synced JSON records. */
export function addRecordCommands(program: Command): void {
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
        const written = await records.put(key, json);
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
        const written = await records.delete(key);
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
}
