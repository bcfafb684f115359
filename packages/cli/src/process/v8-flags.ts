import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { commandOf } from './command-of.js';

/**
 * Imported first by the CLI, so it runs before the heavy modules load. Constant-memory transfers
 * (< 150 MiB peak RSS for 1 GiB, issue 3) cannot afford V8's throughput-first heap sizing:
 * - keep the young generation at its initial size (1 MiB semi-spaces): the scavenges of a transfer
 *   otherwise grow it to 16 MiB semi-spaces, ~30 MiB of peak RSS;
 * - --optimize-for-size: collects sooner and keeps the heap tighter;
 * - expose `gc`, so transfers run a young-generation GC every few MiB (transfer/young-gc.ts).
 * Measured on 1 GiB (VmHWM, with buffer reuse in transfer/): send 147-162 -> 107-113 MiB, receive
 * 158-167 -> 137-143 MiB. The price is receive throughput, ~340 -> ~235 MiB/s; send is unchanged.
 *
 * Not for the commands that host the servers (`stack`, and `demo`, which runs the stack in-process):
 * an API answering feed pages under 1 MiB semi-spaces spent about half its busy time in scavenges
 * (records bench, 2026-12-06), which the production server (`conduit-server`) never does.
 */
const HOSTING_COMMANDS = new Set(['stack', 'demo']);
if (!HOSTING_COMMANDS.has(commandOf(process.argv) ?? '')) {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--optimize-for-size');
  // The flag alone does not define `gc` in a context that already exists; a new context gets it.
  setFlagsFromString('--expose-gc');
  globalThis.gc ??= runInNewContext('gc') as NodeJS.GCFunction;
}
