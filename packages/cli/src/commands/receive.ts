import { resolve } from 'node:path';
import type { Command } from 'commander';
import { abortAfter } from '../program/abort.js';
import { watchMembership } from '../files/membership-watch.js';
import { checkOutDir } from '../files/out-dir.js';
import { receivedFiles } from '../files/received-list.js';
import { resolveGroup } from '../names/resolve.js';
import { interruptSignal } from '../process/interrupt.js';
import { withClient } from '../program/client.js';
import { FOREVER_MS, positiveInt, seconds } from '../program/options.js';
import { printFile, printWarning, progress } from '../program/output.js';
import { unlockFirst } from '../prompt/unlock.js';

interface ReceiveCliOptions {
  out?: string;
  mkdir?: boolean;
  once?: boolean;
  timeout?: number;
  concurrency?: number;
}

/** `conduit receive <group>`: until Ctrl-C, --once or --timeout; interrupted downloads resume. */
export function addReceiveCommand(program: Command): void {
  program
    .command('receive')
    .argument('<group>', 'group id or name')
    .option('--out <dir>', 'where received files are written (default: current directory)')
    .option('--mkdir', 'create the --out folder if it does not exist')
    .option('--once', 'exit after the first file')
    .option('--timeout <seconds>', 'stop after this many seconds (with --once: fail if nothing came)', seconds)
    .option('--concurrency <n>', 'ranged downloads in parallel per file (default 4)', positiveInt)
    .description('receive the group’s files (until Ctrl-C, --once or --timeout); interrupted downloads resume')
    .action(async (groupId: string, opts: ReceiveCliOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const outDir = await checkOutDir(g, resolve(opts.out ?? '.'), opts.mkdir === true);
        await unlockFirst(client);
        groupId = await resolveGroup(client, groupId);
        const timeoutMs = opts.timeout === undefined ? FOREVER_MS : opts.timeout * 1000;
        const display = progress(g);
        const transfer = { concurrency: opts.concurrency, onProgress: display?.onProgress };
        const list = receivedFiles(g);
        if (opts.once) {
          try {
            const file = await client.receiveNext(groupId, { outDir, timeoutMs, ...transfer });
            display?.end();
            list.add(file);
            printFile(g, file);
          } finally {
            display?.end();
            await list.flush();
          }
          return;
        }
        const stop = abortAfter(interruptSignal(), timeoutMs);
        const membership = watchMembership(client, groupId, stop.signal);
        if (!g.json && !g.quiet) console.error(`receiving into ${outDir} (Ctrl-C to stop)`);
        try {
          await client
            .receive(groupId, {
              outDir,
              ...transfer,
              signal: membership.signal,
              onFile: (f) => {
                display?.end();
                list.add(f);
                printFile(g, f);
              },
              onError: (err) => {
                display?.end();
                printWarning(g, err);
              },
            })
            .catch(membership.explain);
          membership.throwIfRemoved();
        } finally {
          membership.dispose();
          stop.dispose();
          await list.flush();
        }
      }),
    );
}
