/* global process */
// Retention throughput: N expired file objects in the local S3 (the devstack's s3rver, its own
// process) and the object index (a redis-server this bench starts), then one retention run of the
// files step (runRetentionOnce: index pages, DeleteObjects batches of 400, one receipt per batch,
// sealed into the audit chain). In the same run, the baseline: raw DeleteObjects of another N
// objects (same batch size, same concurrency as the run's groups), no index, receipts or quota
// refunds (the run gives each object's counted bytes back to the uploader's quota).
// Objects are put with parallel PutObject (2-byte bodies); the index is written with pipelined
// ZADD/HSET/SADD, what ObjectIndex.staged + bound leave. Knob: BENCH_RETENTION_N (default 100,000).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { serverS3Config, startS3 } from '@conduit/devstack';
import { createKeys, runRetentionOnce, S3ObjectStore, shardOf } from '@conduit/server';
import { objectKeyOf } from '@conduit/shared';
import { hex, pool, startRedis } from './lib.mjs';

export const name = 'retention';
export const description = 'one retention run (files step) over N expired objects vs raw DeleteObjects of N';

const N = Number(process.env.BENCH_RETENTION_N ?? 100_000);
const PER_GROUP = 1000;
const TARGET = 2000;
const BATCH = 400;

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-retention-'));
  const stops = [];
  try {
    await mkdir(join(dir, 'redis'));
    const redisProc = await startRedis(join(dir, 'redis'));
    stops.push(redisProc.close);
    const s3 = await startS3({ directory: join(dir, 's3') });
    stops.push(() => s3.close());
    const s3Config = serverS3Config(s3);
    const store = new S3ObjectStore(s3Config);
    stops.push(() => store.close());
    const redis = new Redis(redisProc.url);
    stops.push(() => redis.quit());
    const prefix = 'bench:';
    const keys = createKeys(prefix);

    const put = (key) => store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'ct' }));
    const seedStarted = Date.now();
    const groups = Array.from({ length: Math.ceil(N / PER_GROUP) }, hex);
    const indexed = [];
    const handedOut = Date.now() - 40 * 86_400_000;
    for (const groupId of groups) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < PER_GROUP && indexed.length < N; i += 1) {
        const objectId = hex();
        const meta = { sender: 'alice:dev-a', state: 'file', pointerId: hex(), size: 2, bytes: 2 };
        pipeline.zadd(keys.groupObjects(groupId), handedOut + i, objectId);
        pipeline.hset(keys.groupObjectMeta(groupId), objectId, JSON.stringify(meta));
        indexed.push(objectKeyOf(groupId, objectId));
      }
      pipeline.sadd(keys.objectGroups(shardOf(groupId)), groupId);
      await pipeline.exec();
    }
    // The same layout as the indexed objects (PER_GROUP per folder): s3rver's cost per delete grows
    // with the folder's size, so one flat folder of N would measure s3rver, not DeleteObjects.
    const raw = Array.from({ length: N }, (_, i) => `raw/${groups[Math.floor(i / PER_GROUP)]}/${hex()}`);
    await pool([...indexed, ...raw], 64, put);
    log(`seeded 2 x ${N} objects in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);
    await redis.hset(keys.quotaUsage('alice'), 'bytes', 2 * N);

    const config = {
      redisUrl: redisProc.url,
      redisKeyPrefix: prefix,
      logLevel: 'warn',
      s3: s3Config,
      twilio: { itemTtlSeconds: 14 * 86_400 },
      retention: { files: { kind: 'age', seconds: 30 * 86_400 }, deletesPerSecond: 1_000_000 },
    };
    const load = loadavg()[0];
    let started = Date.now();
    const summary = await runRetentionOnce(config, { objectStore: store });
    const retentionSeconds = (Date.now() - started) / 1000;
    const deleted = summary.steps.files?.deleted ?? 0;
    let left = 0;
    for await (const page of store.listObjects('objects/')) left += page.length;
    const retentionRate = deleted / retentionSeconds;
    const stillCounted = Number(await redis.hget(keys.quotaUsage('alice'), 'bytes'));

    const batches = [];
    for (let i = 0; i < raw.length; i += BATCH) batches.push(raw.slice(i, i + BATCH));
    started = Date.now();
    // The run works on 4 groups at once: the same 4 requests in flight here.
    await pool(batches, 4, (batch) =>
      store.client.send(
        new DeleteObjectsCommand({
          Bucket: s3.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    const rawRate = N / ((Date.now() - started) / 1000);
    log(
      `load average before the run ${load.toFixed(2)}; retention ${deleted} objects in ${retentionSeconds.toFixed(1)} s ` +
        `= ${retentionRate.toFixed(0)}/s; raw DeleteObjects ${rawRate.toFixed(0)}/s; ` +
        `retention / raw = ${(retentionRate / rawRate).toFixed(2)}; objects left in the bucket: ${left}; ` +
        `bytes still counted against the uploader's quota: ${stillCounted} (of ${2 * N})`,
    );
    return [
      {
        metric: `retention deletes/s (${N} expired objects, files step)`,
        measured: retentionRate.toFixed(0),
        target: `>= ${TARGET}`,
        pass: retentionRate >= TARGET && deleted === N && left === 0 && stillCounted === 0,
        note: `raw DeleteObjects ${rawRate.toFixed(0)}/s, ratio ${(retentionRate / rawRate).toFixed(2)}`,
      },
    ];
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
