import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSyncCredentials,
  createVirgilApp,
  startRedisCluster,
  startSyncEmulator,
  type SyncEmulator,
  type VirgilAppCredentials,
} from '@conduit/devstack';
import { ConduitError } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../config.js';
import { startServer, startWorker } from '../server.js';
import { FakeObjectStore, FakeSyncAdmin, FakeTokenIssuer, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { freePort, startTestRedis, type TestRedis } from '../testing/redis-server.js';
import { productionRefusals } from './production.js';
import type { CheckName, Refusal } from './refusal.js';

// Issue 15 item 2: production mode against real Redis servers and the real Sync emulator.
const creds = createSyncCredentials();
const AOF = ['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'];
let virgil: VirgilAppCredentials;
let aclOn: SyncEmulator;
let aclOff: SyncEmulator;
const redis: Record<'good' | 'rdbOnly' | 'evicting' | 'volatile', TestRedis> = {} as never;
let closedPort: number;

beforeAll(async () => {
  [virgil, aclOn, aclOff, redis.good, redis.rdbOnly, redis.evicting, redis.volatile, closedPort] = await Promise.all([
    createVirgilApp(),
    startSyncEmulator({ ...creds, aclEnabled: true }),
    startSyncEmulator({ ...creds, aclEnabled: false }),
    startTestRedis(AOF),
    startTestRedis(['--appendonly', 'no', '--save', '3600 1', '--maxmemory-policy', 'noeviction']),
    startTestRedis(['--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru']),
    startTestRedis(['--appendonly', 'no', '--save', '', '--maxmemory-policy', 'noeviction']),
    freePort(),
  ]);
});

afterAll(async () => {
  await Promise.all([aclOn?.close(), aclOff?.close(), ...Object.values(redis).map((r) => r.close())]);
});

/** A configuration production mode accepts; each row changes what it is about. */
function safeConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const base = testConfig(randomKeyPrefix());
  return {
    ...base,
    mode: 'production',
    publicUrl: 'https://conduit.example.org',
    trustProxy: ['loopback'],
    registration: 'code',
    redisUrl: redis.good.url,
    virgil: {
      appId: virgil.appId,
      appKeyId: virgil.appKeyId,
      appPrivateKey: virgil.appPrivateKey,
      tokenTtlSeconds: 600,
    },
    twilio: { ...base.twilio, ...creds, restBaseUrl: aclOn.restUrl },
    ...overrides,
  };
}

const checksOf = (refusals: Refusal[]) => refusals.map((r) => r.check);

interface Row {
  name: string;
  config: () => ServerConfig;
  refused: CheckName[];
  /** Names every refusal must mention. */
  settings?: string[];
  reason?: RegExp;
}

const rows: Row[] = [
  { name: 'all good (AOF)', config: () => safeConfig(), refused: [] },
  { name: 'all good (RDB snapshots, no AOF)', config: () => safeConfig({ redisUrl: redis.rdbOnly.url }), refused: [] },
  {
    name: 'all good (OIDC: sign-up is the provider’s)',
    config: () =>
      safeConfig({
        registration: 'open',
        auth: { mode: 'oidc', issuer: 'https://idp.example', audience: 'conduit', jwksUrl: 'https://idp.example/jwks' },
      }),
    refused: [],
  },
  {
    name: 'open sign-up',
    config: () => safeConfig({ registration: 'open' }),
    refused: ['sign-up'],
    settings: ['CONDUIT_REGISTRATION', 'CONDUIT_AUTH_MODE'],
  },
  {
    name: 'public URL over plain HTTP',
    config: () => safeConfig({ publicUrl: 'http://conduit.example.org' }),
    refused: ['tls'],
    settings: ['CONDUIT_PUBLIC_URL'],
    reason: /not an https/,
  },
  {
    name: 'no public URL',
    config: () => safeConfig({ publicUrl: undefined }),
    refused: ['tls'],
    settings: ['CONDUIT_PUBLIC_URL'],
  },
  {
    name: 'no trusted proxy',
    config: () => safeConfig({ trustProxy: undefined }),
    refused: ['tls'],
    settings: ['CONDUIT_TRUST_PROXY'],
  },
  {
    name: 'Sync ACL off on the service',
    config: () => safeConfig({ twilio: { ...safeConfig().twilio, restBaseUrl: aclOff.restUrl } }),
    refused: ['sync-acl'],
    reason: /ACL is off/,
  },
  {
    name: 'Sync rejects the API key',
    config: () => safeConfig({ twilio: { ...safeConfig().twilio, apiKeySecret: 'wrong-secret' } }),
    refused: ['sync-acl'],
    settings: ['TWILIO_API_KEY', 'TWILIO_API_SECRET'],
    reason: /HTTP 401/,
  },
  {
    name: 'Sync down',
    config: () => safeConfig({ twilio: { ...safeConfig().twilio, restBaseUrl: `http://127.0.0.1:${closedPort}` } }),
    refused: ['sync-acl'],
    reason: /could not be checked: Twilio Sync did not answer \(ECONNREFUSED\)/,
  },
  {
    name: 'Virgil key is not a key',
    config: () => safeConfig({ virgil: { ...safeConfig().virgil, appPrivateKey: 'bm90IGEga2V5' } }),
    refused: ['virgil-key'],
    settings: ['VIRGIL_APP_KEY'],
  },
  {
    name: 'Virgil key is the public key',
    config: () => safeConfig({ virgil: { ...safeConfig().virgil, appPrivateKey: virgil.appPublicKey } }),
    refused: ['virgil-key'],
  },
  {
    name: 'Redis may evict keys',
    config: () => safeConfig({ redisUrl: redis.evicting.url }),
    refused: ['redis-eviction'],
    settings: ['maxmemory-policy'],
    reason: /allkeys-lru/,
  },
  {
    name: 'Redis without persistence',
    config: () => safeConfig({ redisUrl: redis.volatile.url }),
    refused: ['redis-persistence'],
    settings: ['appendonly'],
    reason: /AOF off and no RDB save points/,
  },
  {
    name: 'Redis down',
    config: () => safeConfig({ redisUrl: `redis://127.0.0.1:${closedPort}` }),
    refused: ['redis-eviction', 'redis-persistence'],
    settings: ['REDIS_URL'],
    reason: /could not be checked: Redis at REDIS_URL did not answer \(ECONNREFUSED\)/,
  },
  {
    name: 'everything at once',
    config: () =>
      safeConfig({
        registration: 'open',
        publicUrl: 'http://conduit.example.org',
        virgil: { ...safeConfig().virgil, appPrivateKey: 'bm90IGEga2V5' },
        twilio: { ...safeConfig().twilio, restBaseUrl: aclOff.restUrl },
        redisUrl: redis.volatile.url,
      }),
    refused: ['sign-up', 'tls', 'sync-acl', 'virgil-key', 'redis-persistence'],
  },
];

describe('production checks', () => {
  it.each(rows)('$name', async (row) => {
    const refusals = await productionRefusals(row.config());
    expect(checksOf(refusals)).toEqual(row.refused);
    for (const r of refusals) {
      for (const setting of row.settings ?? []) expect(r.settings, r.check).toContain(setting);
      if (row.reason) expect(r.reason).toMatch(row.reason);
    }
  });

  it('never puts a secret in a refusal', async () => {
    const secret = 'super-secret-api-value-0123456789';
    const refusals = await productionRefusals(
      safeConfig({
        twilio: { ...safeConfig().twilio, apiKeySecret: secret },
        virgil: { ...safeConfig().virgil, appPrivateKey: secret },
        redisUrl: `redis://user:${secret}@127.0.0.1:${closedPort}`,
      }),
    );
    expect(checksOf(refusals)).toEqual(['sync-acl', 'virgil-key', 'redis-eviction', 'redis-persistence']);
    expect(JSON.stringify(refusals)).not.toContain(secret);
  });

  it('a hung dependency is a refusal within the timeout, not a hang', async () => {
    // A TCP server that accepts and never answers: Redis and Sync both look hung.
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const refusals = await productionRefusals(
        safeConfig({
          redisUrl: `redis://127.0.0.1:${port}`,
          twilio: { ...safeConfig().twilio, restBaseUrl: `http://127.0.0.1:${port}` },
        }),
        500,
      );
      expect(checksOf(refusals)).toEqual(['sync-acl', 'redis-eviction', 'redis-persistence']);
      // Without the bound this would hang until the test's own timeout.
      for (const r of refusals) expect(r.reason).toMatch(/could not be checked/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('production checks on a Redis Cluster', () => {
  let dataDir: string;
  let cluster: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'conduit-prod-cluster-'));
    cluster = await startRedisCluster({ dataDir });
  });

  afterAll(async () => {
    await cluster?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('checks every master: one evicting master is refused by its address', async () => {
    expect(checksOf(await productionRefusals(safeConfig({ redisUrl: cluster.url })))).toEqual([]);
    const [, second] = cluster.url.replace('redis+cluster://', '').split(',');
    const [host, port] = second!.split(':');
    const node = new Redis({ host: host!, port: Number(port) });
    try {
      await node.config('SET', 'maxmemory-policy', 'volatile-lru');
      const refusals = await productionRefusals(safeConfig({ redisUrl: cluster.url }));
      expect(checksOf(refusals)).toEqual(['redis-eviction']);
      expect(refusals[0]!.reason).toContain(`volatile-lru on 127.0.0.1:${port}`);
      expect(refusals[0]!.reason.match(/ on 127\.0\.0\.1:/g)).toHaveLength(1);
    } finally {
      await node.config('SET', 'maxmemory-policy', 'noeviction');
      node.disconnect();
    }
  });
});

describe('conduit-server in production mode', () => {
  const deps = () => ({
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });

  async function refusal(start: Promise<unknown>): Promise<ConduitError> {
    const err = await start.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof ConduitError)) throw new Error(`expected a ConduitError, got ${String(err)}`);
    return err;
  }

  it('api and worker refuse before listening or taking jobs, naming every failed check', async () => {
    const port = await freePort();
    const config = safeConfig({ port, registration: 'open', redisUrl: redis.evicting.url });
    // Started one at a time: a second refusal pending while the first is awaited would be an
    // unhandled rejection (which Virgil's WASM glue, loaded here, turns into an abort).
    for (const start of [() => startServer(config, deps()), () => startWorker(config, deps())]) {
      const err = await refusal(start());
      expect(err.code).toBe('PRODUCTION_UNSAFE');
      expect(checksOf((err.details as { refusals: Refusal[] }).refusals)).toEqual(['sign-up', 'redis-eviction']);
    }
    const listening = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    expect(listening).toBe(false);
  });

  it('api and worker start when every check passes; development mode checks nothing', async () => {
    const running = [
      await startServer(safeConfig(), deps()),
      await startWorker(safeConfig(), deps()),
      await startServer(
        safeConfig({ mode: 'development', registration: 'open', redisUrl: redis.evicting.url }),
        deps(),
      ),
    ];
    await Promise.all(running.map((r) => r.close()));
  });

  it('the binary prints one line per refusal and exits 78', async () => {
    const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      CONDUIT_AUTH_MODE: 'dev',
      CONDUIT_SESSION_SECRET: 'x'.repeat(40),
      CONDUIT_OPAQUE_SERVER_SETUP: 'Q'.repeat(100),
      CONDUIT_PUBLIC_URL: 'http://conduit.example.org',
      REDIS_URL: redis.volatile.url,
      VIRGIL_APP_ID: virgil.appId,
      VIRGIL_APP_KEY_ID: virgil.appKeyId,
      VIRGIL_APP_KEY: virgil.appPrivateKey,
      TWILIO_ACCOUNT_SID: creds.accountSid,
      TWILIO_API_KEY: creds.apiKeySid,
      TWILIO_API_SECRET: creds.apiKeySecret,
      TWILIO_SYNC_SERVICE_SID: creds.serviceSid,
      TWILIO_SYNC_REST_URL: aclOff.restUrl,
      S3_BUCKET: 'conduit-objects',
    };
    const child = spawn(process.execPath, [main, 'api'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(78);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toBe(
      'conduit-server: PRODUCTION_UNSAFE: Production mode refuses to start: 4 check(s) failed (sign-up, tls, sync-acl, redis-persistence).',
    );
    expect(lines.slice(1).map((l) => /^conduit-server: {3}([a-z-]+): .+ \[.*\]$/.exec(l)?.[1])).toEqual([
      'sign-up',
      'tls',
      'sync-acl',
      'redis-persistence',
    ]);
    expect(stderr).toContain('[CONDUIT_PUBLIC_URL, CONDUIT_TRUST_PROXY]');
  });
});
