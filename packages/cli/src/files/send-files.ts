import { ConduitError } from '@conduit/shared';
import type { ConduitClient, SendOptions, SentFile } from '@conduit/client';
import { output, progress } from '../program/output.js';
import type { GlobalOptions } from '../settings/config.js';
import { sendablePath, spoolStdin, STDIN } from './send-input.js';

export interface SendCliOptions {
  name?: string;
  type?: string;
  resume?: boolean;
  restart?: boolean;
  pad: boolean;
  concurrency?: number;
  partSize?: number;
}

/**
 * `conduit send <groupId> <files...>`: every file is checked before the first is sent, then they
 * go one after the other (one output line, or JSON line, each). `-` reads standard input; it needs
 * --name, like several files must not share one.
 */
export async function sendFiles(
  client: ConduitClient,
  g: GlobalOptions,
  groupId: string,
  files: string[],
  opts: SendCliOptions,
  signal: AbortSignal,
): Promise<void> {
  if (opts.resume && opts.restart) throw new ConduitError('VALIDATION_FAILED', 'Use --resume or --restart, not both.');
  const stdinCount = files.filter((f) => f === STDIN).length;
  if (stdinCount > 1) throw new ConduitError('VALIDATION_FAILED', 'Standard input (-) can be sent only once.');
  if (stdinCount === 1 && opts.name === undefined)
    throw new ConduitError('VALIDATION_FAILED', 'Sending standard input (-) needs --name <name> for the recipients.');
  if (files.length > 1 && opts.name !== undefined)
    throw new ConduitError('VALIDATION_FAILED', '--name names a single file: send the files one by one to name each.');
  if (stdinCount === 1 && opts.resume)
    throw new ConduitError('VALIDATION_FAILED', 'A send of standard input cannot be resumed: send it again.');
  const paths = await Promise.all(files.map((f) => (f === STDIN ? STDIN : sendablePath(f))));

  for (const path of paths) {
    const spooled = path === STDIN ? await spoolStdin(process.stdin, signal) : undefined;
    const display = progress(g);
    try {
      const sent = await client.sendFile(groupId, spooled?.path ?? path, {
        ...sendOptions(opts, spooled !== undefined),
        onProgress: display?.onProgress,
        signal,
      });
      display?.end();
      output(g, summary(sent), [
        `sent pointer ${sent.pointerId} (${sent.plainLength} bytes, ${sent.size} stored` +
          `${sent.resumed ? ', resumed' : ''}) <- ${spooled ? 'standard input' : path}`,
      ]);
    } finally {
      display?.end();
      await spooled?.dispose();
    }
  }
}

function sendOptions(opts: SendCliOptions, fromStdin: boolean): SendOptions {
  return {
    name: opts.name,
    type: opts.type,
    pad: opts.pad,
    concurrency: opts.concurrency,
    partSize: opts.partSize === undefined ? undefined : opts.partSize * 1024 * 1024,
    // A spooled copy has a new path each time: nothing of it can be resumed later.
    resume: fromStdin || opts.restart ? 'never' : opts.resume ? 'require' : 'auto',
  };
}

function summary(sent: SentFile): Omit<SentFile, 'pointer'> {
  const { pointer: _pointer, ...rest } = sent;
  return rest;
}
