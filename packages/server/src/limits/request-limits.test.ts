import { randomBytes } from 'node:crypto';
import { syncMapOf } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
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
import { apiCaller, expectError, type Call, type Reply } from '../testing/http.js';

/*
 * Inbound rate limits on two API servers sharing one Redis (as two processes do). Each test speaks
 * from its own client addresses (X-Forwarded-For from the trusted loopback proxy), so budgets do
 * not leak between tests.
 */

const LIMITS = { perIdentity: 6, perAddress: 10, anonymousPerAddress: 4, windowSeconds: 60 };
const PASSWORD = 'correct horse battery';
const hex = () => randomBytes(16).toString('hex');

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const syncAdmin = new FakeSyncAdmin();
const deps = {
  objectStore: new FakeObjectStore(),
  syncAdmin,
  virgilTokens: new FakeTokenIssuer('virgil'),
  syncTokens: new FakeTokenIssuer('sync'),
};
const servers: RunningServer[] = [];
let redis: Redis;
const { call } = apiCaller(() => servers[0]!.url);

let addresses = 0;
/** A client address no other request of this file used. */
const freshAddress = () => `198.51.100.${++addresses}`;

/** Sends from `address` to server `n` (0 or 1). */
const from = (address: string, c: Call, n = 0): Promise<Reply> =>
  call({ ...c, headers: { ...c.headers, 'x-forwarded-for': address } }, servers[n]!.url);

/** A 429 RATE_LIMITED naming the limiter, with Retry-After equal to details.retryAfterSeconds. */
function expectLimited(res: Reply, limit: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  const details = expectError(res.body, 'RATE_LIMITED').details as { retryAfterSeconds: number; limit: string };
  expect(details.limit).toBe(limit);
  expect(details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(details.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.windowSeconds);
  expect(res.headers.get('retry-after')).toBe(String(details.retryAfterSeconds));
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  const config = testConfig(prefix, { requestLimits: LIMITS, trustProxy: ['loopback'] });
  servers.push(await startServer(config, deps), await startServer(config, deps));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await redis.quit();
  await deleteKeys(prefix);
});

describe('inbound rate limits, shared by every API process', () => {
  it('per client address on every /v1 route, counted across both servers', async () => {
    const address = freshAddress();
    const groups: Call = { path: '/v1/groups' };
    for (let i = 0; i < LIMITS.perAddress; i++) {
      // Refused for lack of a session, yet counted: a flood of bad tokens spends the budget too.
      expect((await from(address, groups, i % 2)).status).toBe(401);
    }
    expectLimited(await from(address, groups, 0), 'address');
    expectLimited(await from(address, groups, 1), 'address');
    // Another address has its own budget; probes are not limited.
    expect((await from(freshAddress(), groups)).status).toBe(401);
    expect((await from(address, { path: '/healthz' })).status).toBe(200);
  });

  it('tighter on the routes without a session: the refused sign-up writes nothing', async () => {
    const address = freshAddress();
    const register = (identity: string, n: number) =>
      from(address, { method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, n);
    for (let i = 0; i < LIMITS.anonymousPerAddress; i++) {
      expect((await register(`anon-${i}`, i % 2)).status).toBe(201);
    }
    const refused = 'anon-refused';
    expectLimited(await register(refused, 0), 'anonymous');
    expect(await redis.exists(keys.account(refused), keys.knownIdentity(refused))).toBe(0);
  });

  it('per identity over all its devices and both servers, checked before the route does anything', async () => {
    const identity = 'limited';
    expect(
      (
        await from(freshAddress(), {
          method: 'POST',
          path: '/v1/auth/register',
          body: { identity, password: PASSWORD },
        })
      ).status,
    ).toBe(201);
    const tokens: string[] = [];
    for (const deviceId of ['limited-device-1', 'limited-device-2']) {
      const login = await from(freshAddress(), {
        method: 'POST',
        path: '/v1/auth/login',
        body: { identity, password: PASSWORD, deviceId },
      });
      expect(login.status).toBe(200);
      tokens.push((login.body as { token: string }).token);
    }
    // Each request from a new address: only the identity's budget can run out. Enrolling both
    // devices spends 2 of it.
    for (const [i, token] of tokens.entries()) {
      const deviceId = `limited-device-${i + 1}`;
      expect((await from(freshAddress(), { method: 'PUT', path: `/v1/devices/${deviceId}`, token })).status).toBe(200);
    }
    for (let i = 2; i < LIMITS.perIdentity; i++) {
      expect((await from(freshAddress(), { path: '/v1/groups', token: tokens[i % 2] }, i % 2)).status).toBe(200);
    }
    const groupId = hex();
    const create: Call = { method: 'POST', path: '/v1/groups', token: tokens[0], body: { groupId, members: [] } };
    expectLimited(await from(freshAddress(), create, 1), 'identity');
    expectLimited(await from(freshAddress(), { ...create, token: tokens[1] }, 0), 'identity');
    expect(await redis.exists(keys.group(groupId))).toBe(0);
    expect(syncAdmin.maps.has(syncMapOf(groupId))).toBe(false);
  });

  it('keeps every counter in its subject’s hash slot (one key per limiter and subject)', async () => {
    const counters = await redis.keys(`${keys.rateLimitPrefix()}:*`);
    expect(counters.length).toBeGreaterThan(0);
    for (const key of counters) expect(key).toMatch(/:(identity|address|anonymous):\{(i|a):[^{}]+\}$/);
  });
});
