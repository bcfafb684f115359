/* global performance */
// Issue 10's login cost: OPAQUE with argon2id (64 MiB, 3 passes, 4 lanes) on the client, through
// the SDK against the local stack. Each login is a whole `ConduitClient.login` on a device that
// already holds its key: OPAQUE start + argon2id + finish, the session, and the key store's scrypt
// unlock. A fresh device's first login also restores the key backup (shown for comparison).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConduitClient } from '@conduit/client';
import { startLocalStack } from '@conduit/devstack';
import { percentile } from './lib.mjs';

export const name = 'login';
export const description = 'OPAQUE login (argon2id 64 MiB x 3) through the SDK against the local stack';

const LOGINS = 10;
const TARGET_MS = 1000;

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-login-'));
  const stack = await startLocalStack({ dataDir: join(dir, 'stack') });
  const clients = [];
  const open = async (device) => {
    const client = await ConduitClient.open({
      serverUrl: stack.serverUrl,
      home: join(dir, device),
      identity: 'carol',
      virgilApiUrl: stack.virgilApiUrl,
      virgilServicePublicKey: stack.virgilServicePublicKey,
      twilsockUri: stack.twilsockUri,
    });
    clients.push(client);
    return client;
  };
  const timed = async (fn) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  try {
    const password = 'carol bench password';
    const first = await open('carol-laptop');
    const registerMs = await timed(() => first.register(password));
    const fresh = await open('carol-phone');
    const freshLoginMs = await timed(() => fresh.login(password));
    const times = [];
    for (let i = 0; i < LOGINS; i++) times.push(await timed(() => first.login(password)));
    times.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    const max = times.at(-1);
    log(`register ${registerMs.toFixed(0)} ms; first login of a new device ${freshLoginMs.toFixed(0)} ms`);
    log(`login x${LOGINS}: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    return [
      {
        metric: 'register (OPAQUE + key pair + card + backup)',
        measured: `${registerMs.toFixed(0)} ms`,
        target: '-',
        pass: true,
      },
      {
        metric: 'login of a new device (restores the key)',
        measured: `${freshLoginMs.toFixed(0)} ms`,
        target: '-',
        pass: true,
      },
      {
        metric: `login, p50 of ${LOGINS}`,
        measured: `${p50.toFixed(0)} ms`,
        target: `< ${TARGET_MS} ms`,
        pass: p50 < TARGET_MS,
      },
      {
        metric: `login, max of ${LOGINS}`,
        measured: `${max.toFixed(0)} ms`,
        target: `< ${TARGET_MS} ms`,
        pass: max < TARGET_MS,
      },
    ];
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
