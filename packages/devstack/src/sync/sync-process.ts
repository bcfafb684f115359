/**
 * Child-process entry that runs the Sync emulator on its own event loop, so that load tests measure
 * the server and the worker rather than an emulator sharing their CPU. Fresh credentials are made
 * here and handed to the parent over the IPC channel (never argv or stdout). The write limit is
 * Twilio's by default (or the environment's: write-limit.ts); the parent may send
 * `{ rateLimit: n | null }` to change it (faults.setRateLimit), or `{ refusedWrites: true }` to be told
 * how many writes it refused.
 */
import { createSyncCredentials, startSyncEmulator, writeLimitFromEnv } from './index.js';

const [host = '127.0.0.1', port = '0', acl = 'acl'] = process.argv.slice(2);
if (!process.send) {
  console.error('sync-process must be started with an IPC channel (child_process.fork)');
  process.exit(2);
}

const credentials = createSyncCredentials();
const emulator = await startSyncEmulator({
  ...credentials,
  host,
  port: Number(port),
  aclEnabled: acl === 'acl',
  writeLimit: writeLimitFromEnv(),
});

process.on('message', (msg: { rateLimit?: unknown; refusedWrites?: unknown }) => {
  if (msg?.refusedWrites === true) {
    process.send?.({ refusedWrites: emulator.faults.refusedWrites() });
    return;
  }
  const limit = msg?.rateLimit;
  if (limit === null || (typeof limit === 'number' && Number.isInteger(limit) && limit > 0)) {
    emulator.faults.setRateLimit(limit);
    process.send?.({ rateLimitSet: limit });
  }
});
process.send({ restUrl: emulator.restUrl, twilsockUri: emulator.twilsockUri, credentials });

const stop = () => void emulator.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent died or closed the channel: never outlive it.
process.on('disconnect', stop);
