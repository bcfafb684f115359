import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { startServer } from '../server.js';
import { PASSWORD, devices, hex, itRefuses, useAppFixture, users, type RefusalCase } from '../testing/app-fixture.js';
import { FakeObjectStore, deleteKeys, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { expectError } from '../testing/http.js';

// Routing refusals, refusals that take more than one request, and unexpected failures. Each
// route's own refusals sit next to it (identity/, groups/, files/, delivery/ routes.bad-input).
const fx = useAppFixture();
const { call, ok, tokens, groupId, deps, syncAdmin } = fx;

const cases: RefusalCase[] = [
  // routing
  ['unknown route', () => ({ path: '/v1/nope' }), 404, 'NOT_FOUND'],
  ['unknown root route', () => ({ path: '/' }), 404, 'NOT_FOUND'],
  [
    'wrong method',
    () => ({ method: 'PUT', path: `/v1/groups/${groupId}`, token: tokens.alice }),
    405,
    'METHOD_NOT_ALLOWED',
  ],
];

describe('bad input to every route', () => {
  itRefuses(fx, cases);

  it('login failures are indistinguishable for unknown identities and wrong passwords', async () => {
    const unknown = await call({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: 'nobody-here', password: PASSWORD, deviceId: devices.alice1 },
    });
    const wrong = await call({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: users.alice, password: 'wrong password', deviceId: devices.alice1 },
    });
    expect(unknown).toMatchObject({ status: 401 });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('names unregistered members but not registered ones', async () => {
    const res = await call({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: [users.bob, 'ghost'] },
    });
    expect(res.body).toMatchObject({ error: { code: 'IDENTITY_NOT_FOUND', details: { identities: ['ghost'] } } });
  });

  it('a token signed with another secret is refused', async () => {
    const otherPrefix = randomKeyPrefix();
    const other = await startServer(testConfig(otherPrefix), deps);
    try {
      const res = await fetch(`${other.url}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'mallory', password: PASSWORD }),
      });
      expect(res.status).toBe(201);
      const login = await fetch(`${other.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'mallory', password: PASSWORD, deviceId: 'mallory-device' }),
      });
      const { token } = (await login.json()) as { token: string };
      expect((await call({ path: '/v1/tokens/sync', token })).status).toBe(401);
    } finally {
      await other.close();
      await deleteKeys(otherPrefix);
    }
  });

  it('a group whose Sync provisioning failed is invisible and can be retried by its owner', async () => {
    const g = hex();
    syncAdmin.failEnsureMap = true;
    try {
      const failed = await call({
        method: 'POST',
        path: '/v1/groups',
        token: tokens.bob,
        body: { groupId: g, members: [users.alice] },
      });
      expect(failed.status, JSON.stringify(failed.body)).toBe(503);
      expectError(failed.body, 'DEPENDENCY_UNAVAILABLE');
    } finally {
      syncAdmin.failEnsureMap = false;
    }
    expect((await call({ path: `/v1/groups/${g}`, token: tokens.bob })).status).toBe(404);
    // Someone else (or other members) cannot take over the half-made group.
    expect(
      (await call({ method: 'POST', path: '/v1/groups', token: tokens.carol, body: { groupId: g, members: [] } }))
        .status,
    ).toBe(409);
    expect(
      (
        await call({
          method: 'POST',
          path: '/v1/groups',
          token: tokens.bob,
          body: { groupId: g, members: [users.carol] },
        })
      ).status,
    ).toBe(409);
    await ok(
      { method: 'POST', path: '/v1/groups', token: tokens.bob, body: { groupId: g, members: [users.alice] } },
      201,
    );
    await ok({ path: `/v1/groups/${g}`, token: tokens.alice });
  });

  it('auth routes do not exist in OIDC mode', async () => {
    for (const path of ['/v1/auth/register', '/v1/auth/login']) {
      const res = await call({ method: 'POST', path, body: { identity: 'zed', password: PASSWORD } }, fx.oidcUrl());
      expect(res.status).toBe(404);
      expectError(res.body, 'NOT_FOUND');
    }
  });
});

describe('unexpected failures', () => {
  it('become 500 INTERNAL without details, and are logged without credentials', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const failing = new FakeObjectStore();
    failing.presignPut = async () => {
      throw new Error('s3 exploded');
    };
    const p = randomKeyPrefix();
    const broken = await startServer(testConfig(p), { ...deps, objectStore: failing, logger });
    try {
      const register = { identity: 'erin', password: PASSWORD };
      const send = (method: string, path: string, body: unknown, token?: string) =>
        fetch(broken.url + path, {
          method,
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const post = (path: string, body: unknown, token?: string) => send('POST', path, body, token);
      await post('/v1/auth/register', register);
      const login = await post('/v1/auth/login', { ...register, deviceId: 'erin-device-1' });
      const { token } = (await login.json()) as { token: string };
      expect((await send('PUT', '/v1/devices/erin-device-1', {}, token)).status).toBe(200);
      const g = hex();
      expect((await post('/v1/groups', { groupId: g, members: [] }, token)).status).toBe(201);
      const res = await post(`/v1/groups/${g}/objects`, { size: 5 }, token);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error.' } });

      const logged = lines.join('\n');
      expect(logged).toContain('s3 exploded');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(PASSWORD);
    } finally {
      await broken.close();
      await deleteKeys(p);
    }
  });

  it('redaction removes credentials that reach a log object', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info(
      { req: { headers: { authorization: 'Bearer secret-token' } }, password: 'hunter22', user: { token: 't0k' } },
      'x',
    );
    expect(lines.join('')).not.toMatch(/secret-token|hunter22|t0k/);
  });
});
