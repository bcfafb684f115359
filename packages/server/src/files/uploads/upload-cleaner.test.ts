import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConduitError } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../adapters/s3/s3-object-store.js';
import type { ServerConfig } from '../../config.js';
import { createKeys } from '../../adapters/redis/keys.js';
import { QuotaStore } from '../../adapters/redis/quotas.js';
import { quotasOf } from '../../app-context.js';
import { startWorker } from '../../server.js';
import {
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  eventually,
  randomKeyPrefix,
  testConfig,
} from '../../testing/fakes.js';
import { UploadCleaner, type UploadCleanerTuning } from './upload-cleaner.js';
import { UploadRepository } from './upload-repository.js';
import type { ObjectStore } from '@conduit/shared';
import { UploadService, type ReleaseOutcome } from './upload-service.js';
import { ensureBucket } from '../../testing/s3-bucket.js';

const prefix = randomKeyPrefix();
const hex = () => randomBytes(16).toString('hex');
const caller = { identity: 'alice', deviceId: 'alice-device-1' };
const tuning: UploadCleanerTuning = { intervalMs: 60_000, leaseMs: 1000, batchSize: 2 };
const TTL_SECONDS = 60;

let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let directory: string;
let s3: ServerConfig['s3'];
let store: S3ObjectStore;
let redis: Redis;
let files = 0;

/** Log lines, to see what the cleaner reports. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** s3rver with a scriptable abort, standing in for production S3's answers. */
function scriptedStore(script: (ReleaseOutcome | Error)[]): ObjectStore & { aborts: number } {
  const wrapper = Object.create(store) as ObjectStore & { aborts: number };
  wrapper.aborts = 0;
  wrapper.abortMultipartUpload = async (key, id) => {
    wrapper.aborts++;
    const next = script.shift();
    if (next instanceof Error) throw next;
    return next ?? store.abortMultipartUpload(key, id);
  };
  return wrapper;
}

/** Each test gets its own key space (under the file's prefix), so sweeps see only its uploads. */
function setup(objects: ObjectStore = store) {
  const space = `${prefix}${++files}:`;
  const keys = createKeys(space);
  const repo = new UploadRepository(redis, keys);
  const recordKeys = (uploadId: string) => [keys.upload(uploadId), keys.uploadParts(uploadId)];
  const scheduled = (uploadId: string) => redis.zscore(keys.uploadExpiry(), uploadId);
  const { logger, lines } = capturingLogger();
  // One clock for uploads and cleaner, moved by `later`.
  let now = new Date();
  const quotas = quotasOf(testConfig(space), redis, keys);
  const uploads = new UploadService({ repo, store: objects, quotas, ttlSeconds: TTL_SECONDS, logger, now: () => now });
  const cleaner = new UploadCleaner({ repo, uploads, logger, tuning, now: () => now });
  const later = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const usedBytes = async () => (await new QuotaStore(redis, keys).usage(caller.identity)).bytes;
  return { space, repo, quotas, uploads, cleaner, lines, later, recordKeys, scheduled, usedBytes, clock: () => now };
}

/** An upload with one part presigned and sent, as a client that vanished would leave it. */
async function abandoned(uploads: UploadService): Promise<string> {
  const groupId = hex();
  const upload = await uploads.create(groupId, caller, 2000);
  const signed = await uploads.presignParts(groupId, upload.uploadId, caller, [{ partNumber: 1, size: 1000 }]);
  const part = signed.parts[0]!;
  const res = await fetch(part.url, { method: 'PUT', headers: part.headers, body: randomBytes(1000) });
  expect(res.status).toBe(200);
  return upload.uploadId;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'conduit-cleaner-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await s3rver.run();
  s3 = {
    bucket: 'conduit-cleaner',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    presignTtlSeconds: 300,
  };
  store = new S3ObjectStore(s3);
  await ensureBucket(store.client, s3.bucket);
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  store?.close();
  await redis?.quit();
  await s3rver?.close();
  await deleteKeys(prefix);
  await rm(directory, { recursive: true, force: true });
});

describe('upload cleaner', () => {
  it("releases expired uploads only, through s3rver's 405 ('unsupported', logged once), idempotently", async () => {
    const { uploads, cleaner, lines, later, recordKeys, scheduled, usedBytes } = setup();
    const ids = [await abandoned(uploads), await abandoned(uploads), await abandoned(uploads)];
    expect(await redis.exists(...recordKeys(ids[0]!))).toBe(2);
    // Each open upload holds its declared size against the stored-bytes quota.
    expect(await usedBytes()).toBe(3 * 2000);

    expect(await cleaner.sweep()).toBe(0);
    later(TTL_SECONDS * 1000 - 1000);
    expect(await cleaner.sweep()).toBe(0);
    later(1000);
    // Three due with batches of two: the sweep keeps claiming until a batch comes back short.
    expect(await cleaner.sweep()).toBe(3);
    for (const id of ids) {
      expect(await redis.exists(...recordKeys(id))).toBe(0);
      expect(await scheduled(id)).toBeNull();
    }
    // Released uploads give their bytes back.
    expect(await usedBytes()).toBe(0);
    const released = lines.filter((l) => l.msg === 'expired upload released');
    expect(released.map((l) => l.outcome)).toEqual(['unsupported', 'unsupported', 'unsupported']);
    expect(lines.filter((l) => String(l.msg).includes('AbortIncompleteMultipartUpload'))).toHaveLength(1);
    // No log line carries the store's upload id or a URL.
    expect(JSON.stringify(lines)).not.toMatch(/X-Amz|storeUploadId/);

    later(tuning.leaseMs * 2);
    expect(await cleaner.sweep()).toBe(0);
  });

  it('an expired upload is gone for clients before the sweep runs', async () => {
    const { repo, quotas, uploads } = setup();
    const { logger } = capturingLogger();
    const expired = new UploadService({
      repo,
      store,
      quotas,
      ttlSeconds: TTL_SECONDS,
      logger,
      now: () => new Date(Date.now() + TTL_SECONDS * 1000),
    });
    const groupId = hex();
    const upload = await uploads.create(groupId, caller, 10);
    expect(await uploads.get(groupId, upload.uploadId, caller)).toEqual(upload);
    await expect(expired.get(groupId, upload.uploadId, caller)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No such upload.',
    });
    await expect(
      expired.presignParts(groupId, upload.uploadId, caller, [{ partNumber: 1, size: 10 }]),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      expired.complete(groupId, upload.uploadId, caller, [{ partNumber: 1, etag: 'e' }]),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('retries a failed abort after its lease, and drops the record on aborted or absent', async () => {
    const objects = scriptedStore([new ConduitError('DEPENDENCY_UNAVAILABLE'), 'aborted', 'absent']);
    const { uploads, cleaner, lines, later, recordKeys } = setup(objects);
    const failing = await abandoned(uploads);
    later(TTL_SECONDS * 1000);

    expect(await cleaner.sweep()).toBe(0);
    expect(await redis.exists(...recordKeys(failing))).toBe(2);
    expect(lines.some((l) => l.msg === 'expired upload not released; will retry')).toBe(true);
    // Leased: a sweep within the lease leaves it alone.
    expect(await cleaner.sweep()).toBe(0);
    expect(objects.aborts).toBe(1);

    later(tuning.leaseMs);
    expect(await cleaner.sweep()).toBe(1);
    expect(await redis.exists(...recordKeys(failing))).toBe(0);

    const second = await abandoned(uploads);
    later(TTL_SECONDS * 1000);
    expect(await cleaner.sweep()).toBe(1);
    expect(await redis.exists(...recordKeys(second))).toBe(0);
    expect(lines.filter((l) => l.msg === 'expired upload released').map((l) => l.outcome)).toEqual([
      'aborted',
      'absent',
    ]);
    expect(objects.aborts).toBe(3);
  });

  it('picks up an upload claimed by a cleaner that crashed, once the lease runs out', async () => {
    const { repo, uploads, cleaner, later, recordKeys, clock } = setup();
    const id = await abandoned(uploads);
    later(TTL_SECONDS * 1000);
    // The crashed cleaner's claim: taken, never released.
    expect(await repo.claimDue(clock(), tuning.leaseMs, 100)).toEqual([id]);
    expect(await cleaner.sweep()).toBe(0);
    later(tuning.leaseMs);
    expect(await cleaner.sweep()).toBe(1);
    expect(await redis.exists(...recordKeys(id))).toBe(0);
  });

  it('drops an expiry entry whose record is gone', async () => {
    const { space, cleaner, later, scheduled } = setup();
    const orphan = hex();
    await redis.zadd(`${space}uploads:expiry`, 1, orphan);
    later(1);
    expect(await cleaner.sweep()).toBe(0);
    expect(await scheduled(orphan)).toBeNull();
  });

  it('runs in the worker on its interval', async () => {
    const { logger } = capturingLogger();
    const space = `${prefix}worker:`;
    const repo = new UploadRepository(redis, createKeys(space));
    const quotas = quotasOf(testConfig(space), redis, createKeys(space));
    const id = await abandoned(new UploadService({ repo, store, quotas, ttlSeconds: TTL_SECONDS, logger }));
    // Expired as far as the due set is concerned.
    await redis.zadd(createKeys(space).uploadExpiry(), Date.now() - 1, id);
    const worker = await startWorker(testConfig(space, { s3, uploads: { sweepIntervalMs: 50 } }), {
      objectStore: store,
      syncAdmin: new FakeSyncAdmin(),
      virgilTokens: new FakeTokenIssuer('virgil'),
      syncTokens: new FakeTokenIssuer('sync'),
    });
    try {
      await eventually(async () => ((await redis.exists(createKeys(space).upload(id))) === 0 ? true : undefined));
    } finally {
      await worker.close();
    }
  });
});
