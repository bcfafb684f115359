import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError, type RefreshSessionRequest, type SessionResponse } from '@conduit/shared';
import { nodePlatform } from '../platform/node.js';
import { EncryptedKeyStore } from '../platform/node/key-store.js';
import { LocalState } from '../state/local-state.js';
import { DevSessionSource, REFRESH_ENTRY } from './dev-session-source.js';

// Two processes of one device (say `receive --follow` and a `send`) find their session expired
// at once: the refresh token is traded once, and the other process adopts the result rather than
// presenting the traded token (which the server would take for a stolen copy).
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'key store password';
let home: string;

const token = (n: number) => `${String(n).padStart(43, 'r')}`;
const past = () => new Date(Date.now() - 1000).toISOString();
const future = (s = 3600) => new Date(Date.now() + s * 1000).toISOString();

/** A server that rotates like the real one: each refresh token works once. */
function fakeServer() {
  let current = token(1);
  let issued = 1;
  const seen: string[] = [];
  return {
    seen,
    async refreshSession(req: RefreshSessionRequest): Promise<SessionResponse> {
      seen.push(req.refreshToken);
      if (req.refreshToken !== current) throw new ConduitError('REFRESH_TOKEN_REUSED');
      current = token(++issued);
      await new Promise((resolve) => setTimeout(resolve, 20)); // a round trip: long enough to race
      return {
        token: `access-${issued}`,
        identity: 'alice',
        expiresAt: future(),
        refreshToken: current,
        refreshExpiresAt: future(86_400),
      };
    },
  };
}

async function processOf(api: ReturnType<typeof fakeServer>) {
  const state = await LocalState.open(home, 'alice', nodePlatform.stateFiles);
  const store = await EncryptedKeyStore.unlock(join(home, 'keystore.json'), PASSWORD, FAST);
  return new DevSessionSource({ state, api, keyStore: async () => store }, await state.loadSession());
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'conduit-session-source-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('DevSessionSource', () => {
  it('renews an expired session once for every process of the device', async () => {
    const api = fakeServer();
    const state = await LocalState.open(home, 'alice', nodePlatform.stateFiles);
    const store = await EncryptedKeyStore.unlock(join(home, 'keystore.json'), PASSWORD, FAST);
    const first = new DevSessionSource({ state, api, keyStore: async () => store }, undefined);
    await first.adopt(
      { token: 'access-1', identity: 'alice', expiresAt: past(), refreshToken: token(1), refreshExpiresAt: future() },
      store,
    );
    const [a, b] = await Promise.all([processOf(api), processOf(api)]);
    const bearers = await Promise.all([a.bearer(), b.bearer(), a.bearer()]);
    expect(bearers).toEqual(['access-2', 'access-2', 'access-2']);
    expect(api.seen).toEqual([token(1)]);
    await store.reload();
    expect(JSON.parse((await store.load(REFRESH_ENTRY))!.value)).toMatchObject({ token: token(2) });
  });

  it('forgets the refresh token the server refused for good', async () => {
    const api = fakeServer();
    const p = await processOf(api);
    const store = await EncryptedKeyStore.unlock(join(home, 'keystore.json'), PASSWORD, FAST);
    // The stored token (2, from the test above) is not this fresh server's current one (1).
    await expect(p.renew('access-2')).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
    await store.reload();
    expect(await store.exists(REFRESH_ENTRY)).toBe(false);
    await expect(p.renew('access-2')).resolves.toBeUndefined();
  });
});
