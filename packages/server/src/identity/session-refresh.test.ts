import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '@conduit/shared';
import { createKeys } from '../adapters/redis/keys.js';
import { RefreshTokens } from '../adapters/redis/refresh-tokens.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError, type Reply } from '../testing/http.js';

// Issue 15 item 6: dev-mode refresh tokens on real Redis. Each refresh rotates the token; a token
// presented twice ends every session of its device; logout, revocation, a password change and
// the family's idle limit all make refresh fail.
const prefix = randomKeyPrefix();
const PASSWORD = 'refresh password';
let server: RunningServer;
let redis: Redis;
const { call, ok, registerAll } = apiCaller(() => server.url);

interface Session {
  token: string;
  refreshToken: string;
  expiresAt: string;
  refreshExpiresAt: string;
}

const name = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const refused = (res: Reply, status: number, code: ErrorCode) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expectError(res.body, code);
};
const refresh = (identity: string, deviceId: string, refreshToken: string) =>
  call({ method: 'POST', path: '/v1/session/refresh', body: { identity, deviceId, refreshToken } });
const renewed = async (identity: string, deviceId: string, refreshToken: string): Promise<Session> => {
  const res = await refresh(identity, deviceId, refreshToken);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Session;
};
const devices = (token: string) => call({ path: '/v1/devices', token });

/** A registered identity logged in and enrolled on `deviceId`: its first session. */
async function enrolled(identity: string, deviceId: string): Promise<Session> {
  const session = await ok<Session>({
    method: 'POST',
    path: '/v1/auth/login',
    body: { identity, password: PASSWORD, deviceId },
  });
  await ok({ method: 'PUT', path: `/v1/devices/${deviceId}`, token: session.token, body: {} });
  return session;
}

beforeAll(async () => {
  const config = testConfig(prefix);
  if (config.auth.mode === 'dev') config.auth.sessions = { ttlSeconds: 3600, refreshIdleSeconds: 600 };
  server = await startServer(config, {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  await server?.close();
  await redis?.quit();
  await deleteKeys(prefix);
});

describe('POST /v1/session/refresh', () => {
  it('rotates: a new session and a new refresh token each time; only a hash is stored', async () => {
    const identity = name('rita');
    await registerAll([identity], PASSWORD);
    const first = await enrolled(identity, 'rita-laptop');
    expect(first.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await renewed(identity, 'rita-laptop', first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.refreshExpiresAt).toBe(first.refreshExpiresAt); // one family, one absolute end
    expect((await devices(second.token)).status).toBe(200);
    const third = await renewed(identity, 'rita-laptop', second.refreshToken);
    expect((await devices(third.token)).status).toBe(200);
    const stored = await redis.hgetall(createKeys(prefix).refreshFamily(identity, 'rita-laptop'));
    expect(JSON.stringify(stored)).not.toContain(third.refreshToken);
    expect(JSON.stringify(stored)).not.toContain(first.refreshToken);
  });

  it('an already traded token ends every session of the device, and the family with it', async () => {
    const identity = name('rex');
    await registerAll([identity], PASSWORD);
    const first = await enrolled(identity, 'rex-laptop');
    const phone = await enrolled(identity, 'rex-phone');
    const second = await renewed(identity, 'rex-laptop', first.refreshToken);
    // The thief (or the owner) replays the first token: the device's sessions all end.
    refused(await refresh(identity, 'rex-laptop', first.refreshToken), 401, 'REFRESH_TOKEN_REUSED');
    refused(await devices(second.token), 401, 'UNAUTHENTICATED');
    refused(await refresh(identity, 'rex-laptop', second.refreshToken), 401, 'UNAUTHENTICATED');
    // The identity's other device keeps its session and its refresh token.
    expect((await devices(phone.token)).status).toBe(200);
    await renewed(identity, 'rex-phone', phone.refreshToken);
  });

  it('is refused after a logout, a revocation or a password change', async () => {
    const identity = name('lou');
    await registerAll([identity], PASSWORD);
    const laptop = await enrolled(identity, 'lou-laptop');
    const phone = await enrolled(identity, 'lou-phone');
    const tablet = await enrolled(identity, 'lou-tablet');
    await ok({ method: 'DELETE', path: '/v1/session', token: laptop.token });
    refused(await refresh(identity, 'lou-laptop', laptop.refreshToken), 401, 'UNAUTHENTICATED');
    await ok({ method: 'DELETE', path: '/v1/devices/lou-phone', token: tablet.token }, 204);
    refused(await refresh(identity, 'lou-phone', phone.refreshToken), 403, 'DEVICE_REVOKED');
    const body = { identity, password: PASSWORD, newPassword: 'another password' };
    await ok({ method: 'POST', path: '/v1/auth/password', body }, 204);
    refused(await refresh(identity, 'lou-tablet', tablet.refreshToken), 401, 'UNAUTHENTICATED');
  });

  it('refuses unknown tokens, other devices and other identities alike', async () => {
    const identity = name('uma');
    await registerAll([identity], PASSWORD);
    const session = await enrolled(identity, 'uma-laptop');
    const other = randomBytes(32).toString('base64url');
    refused(await refresh(identity, 'uma-laptop', other), 401, 'UNAUTHENTICATED');
    refused(await refresh(identity, 'uma-phone', session.refreshToken), 401, 'UNAUTHENTICATED');
    refused(await refresh(name('eve'), 'uma-laptop', session.refreshToken), 401, 'UNAUTHENTICATED');
    await renewed(identity, 'uma-laptop', session.refreshToken); // none of that spent it
  });

  it('validates and bounds the body', async () => {
    const good = { identity: 'vic', deviceId: 'vic-laptop', refreshToken: randomBytes(32).toString('base64url') };
    const bad: unknown[] = [
      { ...good, refreshToken: 'short' },
      { ...good, refreshToken: `${good.refreshToken}x` },
      { ...good, identity: 'no/slash' },
      { ...good, extra: true },
      'not json',
    ];
    for (const body of bad) {
      refused(await call({ method: 'POST', path: '/v1/session/refresh', body }), 400, 'VALIDATION_FAILED');
    }
    refused(await call({ method: 'GET', path: '/v1/session/refresh' }), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('refresh token families', () => {
  it('end once a token lies unused past the idle limit, or the family is past its lifetime', async () => {
    const tokens = new RefreshTokens(redis, createKeys(prefix), { ttlSeconds: 3600, idleSeconds: 60 });
    const epochs = { epoch: 0, deviceEpoch: 0 };
    const idle = await tokens.start('ida', 'ida-laptop', epochs, Date.now() - 61_000);
    expect(await tokens.rotate('ida', 'ida-laptop', idle.token)).toEqual({ status: 'expired' });
    const fresh = await tokens.start('ida', 'ida-laptop', epochs);
    expect((await tokens.rotate('ida', 'ida-laptop', fresh.token, Date.now() + 3_601_000)).status).toBe('expired');
  });
});
