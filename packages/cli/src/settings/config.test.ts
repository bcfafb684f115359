import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_STACK_SETTINGS_FILE } from '@conduit/shared';
import { clientOptions } from './config.js';

// Issue 11 item 4: with no --server and no CONDUIT_SERVER_URL, the CLI uses the local stack
// running on <home>/devstack; flags and variables always win, and a stale file is ignored.
const stackEnv = {
  CONDUIT_SERVER_URL: 'http://127.0.0.1:7470',
  CONDUIT_VIRGIL_API_URL: 'http://127.0.0.1:7471',
  CONDUIT_VIRGIL_SERVICE_KEY: 'c2VydmljZS1rZXk=',
  CONDUIT_TWILSOCK_URI: 'ws://127.0.0.1:7472/v3/wsconnect',
};
const log = () => {};
let home: string;

async function publish(pid: number): Promise<void> {
  await mkdir(join(home, 'devstack'), { recursive: true });
  await writeFile(join(home, 'devstack', LOCAL_STACK_SETTINGS_FILE), JSON.stringify({ pid, clientEnv: stackEnv }));
}

/** A pid no process has: one that just exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'conduit-config-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('clientOptions', () => {
  it('takes every connection setting from a running local stack when none is set', async () => {
    await publish(process.pid);
    const options = clientOptions({ home, as: 'alice' }, log, {});
    expect(options).toMatchObject({
      serverUrl: stackEnv.CONDUIT_SERVER_URL,
      virgilApiUrl: stackEnv.CONDUIT_VIRGIL_API_URL,
      virgilServicePublicKey: stackEnv.CONDUIT_VIRGIL_SERVICE_KEY,
      twilsockUri: stackEnv.CONDUIT_TWILSOCK_URI,
    });
  });

  it('lets a set variable win over the stack for that variable only', async () => {
    await publish(process.pid);
    const env = { CONDUIT_VIRGIL_API_URL: 'http://directory.example' };
    expect(clientOptions({ home, as: 'alice' }, log, env)).toMatchObject({
      serverUrl: stackEnv.CONDUIT_SERVER_URL,
      virgilApiUrl: 'http://directory.example',
    });
  });

  it('ignores the stack once --server or CONDUIT_SERVER_URL names a server', async () => {
    await publish(process.pid);
    const viaFlag = clientOptions({ home, as: 'alice', server: 'https://conduit.example' }, log, {});
    expect(viaFlag).toMatchObject({ serverUrl: 'https://conduit.example', virgilApiUrl: undefined });
    const viaEnv = clientOptions({ home, as: 'alice' }, log, { CONDUIT_SERVER_URL: 'https://conduit.example' });
    expect(viaEnv).toMatchObject({ serverUrl: 'https://conduit.example', twilsockUri: undefined });
  });

  it('ignores the settings of a stack that is no longer running', async () => {
    await publish(deadPid());
    expect(() => clientOptions({ home, as: 'alice' }, log, {})).toThrow(/No server: .*conduit stack up/);
  });
});
