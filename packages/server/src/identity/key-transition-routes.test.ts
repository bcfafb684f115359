import { randomBytes } from 'node:crypto';
import { MAX_KEY_TRANSITIONS, type KeyTransitionList } from '@conduit/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError } from '../testing/http.js';

// Key-transition statements: stored and served, never judged (clients verify the signatures);
// the server only checks the shape and that an identity publishes statements about itself.
const prefix = randomKeyPrefix();
const PASSWORD = 'correct horse battery';
let server: RunningServer;
const { call, ok, enroll } = apiCaller(() => server.url);
const PATH = '/v1/identities/me/key-transitions';

const hex64 = () => randomBytes(32).toString('hex');
const transition = (identity: string, n = 0) => ({
  statement: JSON.stringify({
    v: 1,
    identity,
    oldCardId: hex64(),
    newCardId: hex64(),
    newPublicKey: randomBytes(44).toString('base64'),
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  }),
  signature: randomBytes(64).toString('base64'),
});

async function identity(): Promise<{ name: string; token: string }> {
  const name = `user-${randomBytes(4).toString('hex')}`;
  await ok({ method: 'POST', path: '/v1/auth/register', body: { identity: name, password: PASSWORD } }, 201);
  return { name, token: await enroll(name, PASSWORD, `dev-${randomBytes(4).toString('hex')}`) };
}

beforeAll(async () => {
  server = await startServer(testConfig(prefix), {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
});

afterAll(async () => {
  await server?.close();
  await deleteKeys(prefix);
});

describe('key-transition routes', () => {
  it('publishes statements about oneself and serves them to any authenticated caller, oldest first', async () => {
    const bob = await identity();
    const alice = await identity();
    const [first, second] = [transition(bob.name, 1), transition(bob.name, 2)];
    await ok({ method: 'PUT', path: PATH, token: bob.token, body: first }, 204);
    await ok({ method: 'PUT', path: PATH, token: bob.token, body: second }, 204);
    await ok({ method: 'PUT', path: PATH, token: bob.token, body: first }, 204); // a repeat is not duplicated
    const list = await ok<KeyTransitionList>({
      path: `/v1/identities/${bob.name}/key-transitions`,
      token: alice.token,
    });
    expect(list.transitions).toEqual([second, first]);
    expect(
      (await ok<KeyTransitionList>({ path: `/v1/identities/${alice.name}/key-transitions`, token: bob.token }))
        .transitions,
    ).toEqual([]);
  });

  it('refuses statements about another identity, malformed ones, and anonymous callers', async () => {
    const mallory = await identity();
    const forOther = await call({ method: 'PUT', path: PATH, token: mallory.token, body: transition('bob') });
    expect(forOther.status).toBe(403);
    expectError(forOther.body, 'FORBIDDEN');

    const bad = [
      { statement: 'not json', signature: 'AAAA' },
      { ...transition(mallory.name), extra: 1 },
      { ...transition(mallory.name), statement: 'x'.repeat(1025) },
      { statement: JSON.stringify({ v: 2, identity: mallory.name }), signature: 'AAAA' },
    ];
    for (const body of bad) {
      const res = await call({ method: 'PUT', path: PATH, token: mallory.token, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    expect((await call({ method: 'PUT', path: PATH, body: transition(mallory.name) })).status).toBe(401);
    expect((await call({ path: `/v1/identities/${mallory.name}/key-transitions` })).status).toBe(401);
    expect((await call({ path: '/v1/identities/..%2Fx/key-transitions', token: mallory.token })).status).toBe(400);
  });

  it(`keeps the newest ${MAX_KEY_TRANSITIONS} statements`, async () => {
    const carol = await identity();
    const all = Array.from({ length: MAX_KEY_TRANSITIONS + 3 }, (_, i) => transition(carol.name, i));
    for (const t of all) await ok({ method: 'PUT', path: PATH, token: carol.token, body: t }, 204);
    const list = await ok<KeyTransitionList>({
      path: `/v1/identities/${carol.name}/key-transitions`,
      token: carol.token,
    });
    expect(list.transitions).toEqual(all.slice(3));
  });
});
