import type { Command } from 'commander';
import type { ReceivedFileEntry } from '@conduit/client';
import { receivedFiles } from '../files/received-list.js';
import { output } from '../program/output.js';
import type { GlobalOptions } from '../settings/config.js';

/** `conduit received [--group <groupId>]`: what this device received, oldest first (local state only). */
export function addReceivedCommand(program: Command): void {
  program
    .command('received')
    .option('--group <groupId>', 'only the files of this group')
    .description('list the files received on this device: time, name, size, sender, path (no server needed)')
    .action(async (opts: { group?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const files = (await receivedFiles(g).list()).filter((f) => !opts.group || f.groupId === opts.group);
      output(g, { files }, files.length === 0 ? ['no files received yet'] : files.map(line));
    });
}

function line(f: ReceivedFileEntry): string {
  return `${f.receivedAt}  ${f.name}  ${f.size} bytes  from ${f.sender.identity}  -> ${f.path}`;
}
