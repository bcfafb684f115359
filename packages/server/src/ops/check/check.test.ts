import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSyncCredentials,
  createVirgilApp,
  startS3,
  startSyncEmulator,
  type LocalS3,
  type SyncEmulator,
  type VirgilAppCredentials,
} from '@conduit/devstack';
import { ConduitError } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../config.js';
import { randomKeyPrefix, testConfig } from '../../testing/fakes.js';
import { startTestRedis, type TestRedis } from '../../testing/redis-server.js';
import type { CheckResult } from './check-result.js';
import { checkCommand } from './run-check.js';

// `conduit-server check` against real parts: Redis servers, the Sync emulator, the devstack S3
// with deploy/s3/lifecycle.json's rules and one without rules.
const creds = createSyncCredentials();
let virgil: VirgilAppCredentials;
let sync: SyncEmulator;
let good: TestRedis;
let volatile: TestRedis;
let dir: string;
let ruled: LocalS3;
let bare: LocalS3;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-check-'));
  [virgil, sync, good, volatile, ruled, bare] = await Promise.all([
    createVirgilApp(),
    startSyncEmulator({ ...creds, aclEnabled: true }),
    startTestRedis(['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction']),
    startTestRedis(['--appendonly', 'no', '--save', '', '--maxmemory-policy', 'noeviction']),
    startS3({ directory: join(dir, 'ruled') }),
    startS3({ directory: join(dir, 'bare'), lifecycle: null }),
  ]);
});

afterAll(async () => {
  await Promise.all([sync?.close(), good?.close(), volatile?.close(), ruled?.close(), bare?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A production deployment every check accepts; `overrides` break one thing. */
function deployment(s3: LocalS3, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const base = testConfig(randomKeyPrefix());
  return {
    ...base,
    mode: 'production',
    publicUrl: 'https://conduit.example.org',
    trustProxy: ['loopback'],
    registration: 'code',
    redisUrl: good.url,
    s3: { ...base.s3, ...s3, forcePathStyle: true },
    virgil: {
      appId: virgil.appId,
      appKeyId: virgil.appKeyId,
      appPrivateKey: virgil.appPrivateKey,
      tokenTtlSeconds: 600,
    },
    twilio: { ...base.twilio, ...creds, restBaseUrl: sync.restUrl },
    ...overrides,
  };
}

async function check(config: ServerConfig | (() => ServerConfig), args: string[] = []) {
  const out: string[] = [];
  const code = await checkCommand(args, typeof config === 'function' ? config : () => config, (t) => void out.push(t));
  return { code, out };
}

const byName = (lines: string[]) => new Map(lines.map((l) => [/^\w+ ([^:]+):/.exec(l)![1]!, l]));

/** Every key with its serialized value, and every file of the S3 directory with its size and mtime. */
async function snapshot(redisUrl: string, s3Dir: string): Promise<unknown> {
  const redis = new Redis(redisUrl);
  try {
    const keys = (await redis.keys('*')).sort();
    const values = await Promise.all(keys.map((k) => redis.dumpBuffer(k).then((b) => b?.toString('hex'))));
    return { keys: Object.fromEntries(keys.map((k, i) => [k, values[i]])), files: await tree(s3Dir) };
  } finally {
    await redis.quit();
  }
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.push(`${path} ${entry.isFile() ? s.size : 'dir'} ${s.mtimeMs}`);
  }
  return out.sort();
}

describe('conduit-server check', () => {
  it('passes a good deployment: one ok line per check, exit 0, and writes nothing', async () => {
    const redis = new Redis(good.url);
    await redis.set('conduit:probe', 'x');
    await redis.quit();
    const before = await snapshot(good.url, join(dir, 'ruled'));
    const { code, out } = await check(deployment(ruled));
    expect(
      out.filter((l) => !l.startsWith('ok ')),
      out.join('\n'),
    ).toEqual([]);
    expect(code).toBe(0);
    const lines = byName(out);
    for (const name of ['config', 'sign-up', 'tls', 'sync-acl', 'virgil-key', 'redis-eviction', 'redis-persistence']) {
      expect(lines.has(name), name).toBe(true);
    }
    expect(lines.get('redis')).toBe('ok redis: PING answered PONG');
    expect(lines.get('s3-lifecycle')).toMatch(/conduit-abort-incomplete-multipart-uploads.*after 2 day/);
    expect(lines.get('s3-versioning')).toMatch(/^ok /);
    expect(lines.get('retention')).toBe(
      'ok retention: files keep, records keep, audit keep; runs every 3600 s, at most 5000 deletes/s; ' +
        'identity deletion keeps the files it sent',
    );
    expect(await snapshot(good.url, join(dir, 'ruled'))).toEqual(before);
  });

  it('fails a bucket without lifecycle rules and a Redis without persistence, exit 1', async () => {
    const { code, out } = await check(deployment(bare, { redisUrl: volatile.url }));
    expect(code).toBe(1);
    const lines = byName(out);
    expect(lines.get('s3-lifecycle')).toMatch(/^fail s3-lifecycle: the bucket has no lifecycle rules/);
    expect(lines.get('redis-persistence')).toMatch(/^fail redis-persistence: Redis does not persist/);
    expect(lines.get('redis')).toMatch(/^ok /);
  });

  it('fails an abort rule that could abort uploads Conduit still holds open', async () => {
    const { out } = await check(deployment(ruled, { uploads: { ttlSeconds: 3 * 86_400 } }));
    expect(byName(out).get('s3-lifecycle')).toMatch(/^fail s3-lifecycle: .*within CONDUIT_UPLOAD_TTL_SECONDS/);
  });

  it('warns in development mode about what production refuses', async () => {
    const { code, out } = await check(deployment(ruled, { mode: 'development', redisUrl: volatile.url }));
    expect(byName(out).get('redis-persistence')).toMatch(/^warn /);
    expect(code).toBe(0);
  });

  it('fails what it cannot reach, naming settings and never their values', async () => {
    const config = deployment(ruled, {
      redisUrl: 'redis://:hunter2secret@127.0.0.1:1',
      s3: { ...deployment(ruled).s3, bucket: 'no-such-bucket' },
    });
    const { code, out } = await check(config, ['--json']);
    expect(code).toBe(1);
    const report = JSON.parse(out.join('')) as { ok: boolean; checks: CheckResult[] };
    expect(report.ok).toBe(false);
    const status = Object.fromEntries(report.checks.map((c) => [c.check, c.status]));
    expect(status).toMatchObject({ redis: 'fail', s3: 'fail', 'redis-persistence': 'fail', 'sync-acl': 'ok' });
    expect(out.join('')).not.toContain('hunter2secret');
  }, 60_000);

  it('reports configuration problems by variable name, and refuses unknown arguments (exit 2)', async () => {
    const { code, out } = await check(() => {
      throw new ConduitError('CONFIG', 'Configuration is missing or invalid (missing: S3_BUCKET).', {});
    });
    expect(code).toBe(1);
    expect(out).toEqual(['fail config: Configuration is missing or invalid (missing: S3_BUCKET).']);
    expect((await check(deployment(ruled), ['--yaml'])).code).toBe(2);
  });
});
