import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import { nodeStateFiles } from '../platform/node/state-files.js';
import { LocalState } from './local-state.js';
import { ReceivedLog } from './received-log.js';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'conduit-state-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('LocalState', () => {
  it('creates the device id once and keeps it', async () => {
    const a = await LocalState.open(home, 'alice', nodeStateFiles);
    const again = await LocalState.open(home, 'alice', nodeStateFiles);
    expect(a.deviceId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(again.deviceId).toBe(a.deviceId);
    expect((await LocalState.open(home, 'bob', nodeStateFiles)).deviceId).not.toBe(a.deviceId);
  });

  it('stores the session owner-only', async () => {
    const s = await LocalState.open(home, 'carol', nodeStateFiles);
    expect(await s.loadSession()).toBeUndefined();
    await s.saveSession({ token: 'tok', expiresAt: '2030-01-01T00:00:00.000Z' });
    expect(await s.loadSession()).toEqual({ token: 'tok', expiresAt: '2030-01-01T00:00:00.000Z' });
    expect((await stat(join(s.dir, 'session.json'))).mode & 0o777).toBe(0o600);
  });

  it.each(['../evil', '.hidden', 'a/b', ''])('refuses identity %j as a path', async (identity) => {
    await expect(LocalState.open(home, identity, nodeStateFiles)).rejects.toBeInstanceOf(ConduitError);
  });
});

describe('ReceivedLog', () => {
  const p1 = '11111111111111111111111111111111';
  const p2 = '22222222222222222222222222222222';

  it('survives a reopen, keeps the furthest state, and skips torn lines', async () => {
    const path = join(home, 'received.jsonl');
    const log = await ReceivedLog.open(path, nodeStateFiles);
    await log.record(p1, 'received');
    await log.record(p1, 'acked');
    await log.record(p2, 'received');
    await appendFile(path, '{"id":"3333');
    const reopened = await ReceivedLog.open(path, nodeStateFiles);
    expect(reopened.get(p1)).toBe('acked');
    expect(reopened.get(p2)).toBe('received');
    expect(reopened.get('33333333333333333333333333333333')).toBeUndefined();
  });
});
