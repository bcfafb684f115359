import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../config.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller } from '../testing/http.js';

// CONDUIT_TRUST_PROXY: the per-address password limit counts X-Forwarded-For's client only when
// the peer is a declared proxy (here the test itself, on loopback); otherwise the TCP peer.
const ATTEMPTS_PER_ADDRESS = 2;
const prefixes: string[] = [];
const servers: Record<'trusting' | 'direct' | 'otherProxy', RunningServer> = {} as never;

function configWith(trustProxy: string[] | undefined): ServerConfig {
  const prefix = randomKeyPrefix();
  prefixes.push(prefix);
  return testConfig(prefix, {
    ...(trustProxy ? { trustProxy } : {}),
    authRateLimit: { attemptsPerIdentity: 1000, attemptsPerAddress: ATTEMPTS_PER_ADDRESS, windowSeconds: 60 },
  });
}

const deps = () => ({
  objectStore: new FakeObjectStore(),
  syncAdmin: new FakeSyncAdmin(),
  virgilTokens: new FakeTokenIssuer('virgil'),
  syncTokens: new FakeTokenIssuer('sync'),
});

beforeAll(async () => {
  servers.trusting = await startServer(configWith(['loopback']), deps());
  servers.direct = await startServer(configWith(undefined), deps());
  servers.otherProxy = await startServer(configWith(['203.0.113.7']), deps());
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  await Promise.all(prefixes.map((p) => deleteKeys(p)));
});

/** Statuses of password attempts (unknown identity: 401 until a limit answers 429), one per forwarded address. */
async function attempts(server: RunningServer, forwardedFor: string[]): Promise<number[]> {
  const { call } = apiCaller(() => server.url);
  const statuses: number[] = [];
  for (const [i, address] of forwardedFor.entries()) {
    const res = await call({
      method: 'POST',
      path: '/v1/auth/login',
      headers: { 'x-forwarded-for': address },
      body: { identity: `nobody-${i}`, password: 'wrong password here', deviceId: 'device-0001' },
    });
    statuses.push(res.status);
  }
  return statuses;
}

describe('client address behind a proxy', () => {
  it('a trusted proxy: each forwarded client has its own budget', async () => {
    expect(await attempts(servers.trusting, ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([401, 401, 401]);
    expect(await attempts(servers.trusting, ['198.51.100.9', '198.51.100.9', '198.51.100.9'])).toEqual([401, 401, 429]);
  });

  it('no trusted proxy: X-Forwarded-For is ignored, the peer is the client', async () => {
    expect(await attempts(servers.direct, ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([401, 401, 429]);
  });

  it('a peer that is not the declared proxy cannot forge its address', async () => {
    expect(await attempts(servers.otherProxy, ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([
      401, 401, 429,
    ]);
  });
});
