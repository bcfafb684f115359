import type { Command } from 'commander';
import { sendFiles, type SendCliOptions } from '../files/send-files.js';
import { resolveGroup } from '../names/resolve.js';
import { interruptSignal } from '../process/interrupt.js';
import { withClient } from '../program/client.js';
import { positiveInt } from '../program/options.js';

/** `conduit send <group> <files...>` (resumable; `-` is standard input). */
export function addSendCommand(program: Command): void {
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
        await sendFiles(client, g, groupId, files, opts, interruptSignal());
      }),
    );
}
