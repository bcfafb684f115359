import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { serverS3Config, startS3, type LocalS3 } from '@conduit/devstack';
import { AuditLog, ObjectIndex, S3ObjectStore, createKeys } from '@conduit/server';
import { objectKeyOf } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proc, until } from './harness.js';

// kill -9 mid-run: the retention run is a child process (retention-child.mjs over the built
// @conduit/server) killed with SIGKILL while it deletes; a second run finishes the job. Every
// expired object must be gone from the bucket (listed through S3), the audit chain must name
// each exactly once (no receipt lost, none doubled), and the uploader's quota must get each
// object's counted bytes back exactly once.
const CHILD = fileURLToPath(new URL('./retention-child.mjs', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const OBJECTS = 2000;
const prefix = `conduit-test:${randomBytes(6).toString('hex')}:`;
const keys = createKeys(prefix);
const groupId = randomBytes(16).toString('hex');
let dir: string;
let s3: LocalS3;
let store: S3ObjectStore;
let redis: Redis;

const s3Config = () => serverS3Config(s3);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-retention-'));
  s3 = await startS3({ directory: join(dir, 's3') });
  store = new S3ObjectStore(s3Config());
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  store?.close();
  await s3?.close();
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length > 0) await redis.del(...stale);
  await redis?.quit();
  await rm(dir, { recursive: true, force: true });
});

function child(): Proc {
  const config = {
    redisUrl: REDIS_URL,
    redisKeyPrefix: prefix,
    logLevel: 'warn',
    s3: s3Config(),
    twilio: { itemTtlSeconds: 14 * 86_400 },
    // Slow enough (a few seconds for the whole run) that the kill lands mid-run.
    retention: { files: { kind: 'age', seconds: 86_400 }, deletesPerSecond: 500 },
  };
  return new Proc(process.execPath, [CHILD], {
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    RETENTION_CONFIG: JSON.stringify(config),
  });
}

async function listed(): Promise<string[]> {
  const found: string[] = [];
  for await (const page of store.listObjects(`objects/${groupId}/`)) found.push(...page.map((o) => o.key));
  return found;
}

describe('retention run killed with SIGKILL', () => {
  it('is finished by the next run: every expired object gone, exactly one receipt line and one quota refund each', async () => {
    const index = new ObjectIndex(redis, keys);
    // alice's stored-bytes quota counts 1,000 B per object, and 7 B of something else.
    await redis.hset(keys.quotaUsage('alice'), 'bytes', OBJECTS * 1_000 + 7);
    const expired: string[] = [];
    const handedOut = new Date(Date.now() - 3 * 86_400_000);
    for (let i = 0; i < OBJECTS; i += 100) {
      const ids = Array.from({ length: 100 }, () => randomBytes(16).toString('hex'));
      await Promise.all(
        ids.map(async (objectId) => {
          const sender = { identity: 'alice', deviceId: 'dev-a' };
          await index.staged(groupId, objectId, sender, handedOut, 1_000);
          await index.bound(groupId, objectId, { state: 'file', pointerId: objectId, size: 2, sender });
          await store.client.send(
            new PutObjectCommand({ Bucket: s3.bucket, Key: objectKeyOf(groupId, objectId), Body: 'ct' }),
          );
          expired.push(objectKeyOf(groupId, objectId));
        }),
      );
    }

    const first = child();
    first.start();
    // Kill while it deletes: some objects forgotten, most not yet.
    await until(
      'the first run to delete some objects',
      async () => ((await redis.zcard(keys.groupObjects(groupId))) < OBJECTS - 400 ? true : undefined),
      30_000,
    );
    expect(first.alive).toBe(true);
    await first.stop('SIGKILL');
    const left = await redis.zcard(keys.groupObjects(groupId));
    expect(left).toBeGreaterThan(0);

    // The dead run's lease still stands: a run now is skipped (outcome "skipped"), and deletes nothing.
    const skipped = child();
    skipped.start();
    await until('the skipped run to end', async () => (skipped.alive ? undefined : true), 60_000);
    expect(await redis.zcard(keys.groupObjects(groupId))).toBe(left);
    // Once the lease expires (a minute after its holder died; shortened here), the next run finishes the work.
    await redis.pexpire(keys.retentionLease(), 1);
    const second = child();
    second.start();
    await until('the second run to finish', async () => (second.alive ? undefined : true), 60_000);
    expect(second.stderr).not.toMatch(/Error/);

    expect(await listed()).toEqual([]);
    expect(await redis.zcard(keys.groupObjects(groupId))).toBe(0);
    const audit = new AuditLog(redis, keys);
    await audit.seal('all');
    const named = new Map<string, number>();
    for await (const lines of audit.lines(1, (await audit.head()).seq)) {
      for (const line of lines) {
        const entry = (JSON.parse(line) as { entry: { type: string; groupId?: string; objects?: { key: string }[] } })
          .entry;
        if (entry.type !== 'objects-deleted' || entry.groupId !== groupId) continue;
        for (const o of entry.objects ?? []) named.set(o.key, (named.get(o.key) ?? 0) + 1);
      }
    }
    expect([...named.keys()].sort()).toEqual([...expired].sort());
    expect([...named.values()].every((n) => n === 1)).toBe(true);
    expect(await redis.hget(keys.quotaUsage('alice'), 'bytes')).toBe('7');
  });
});
