/* global process, performance */
// Records batch writes at the storage layer: N versions appended one Redis round trip each (the
// single route's path, `RecordStore.append`) versus in batches of 100, one pipeline per batch
// (the batch route's path, `appendMany`), against a redis-server of its own. Same versions, same
// script, one run, so the ratio is what the batch route saves in Redis round trips.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createKeys, RecordStore } from '@conduit/server';
import { hex, startRedis } from './lib.mjs';

export const name = 'record-append';
export const description = 'record versions appended one round trip each vs. 100 per pipeline (Redis)';

const N = Number(process.env.BENCH_RECORD_APPENDS ?? 5_000);
const BATCH = 100;
// Locally a round trip costs about as much as the script itself, so a batch saves about half or more.
const TARGET_RATIO = 2;

const version = () => ({
  recordId: hex(),
  versionId: hex(),
  parentVersionId: null,
  pointerId: hex(),
  objectId: null,
  size: 0,
  deleted: false,
  // A small inline value's envelope (record envelope v2 with ~200 bytes of JSON).
  envelope: 'A'.repeat(1_400),
  sender: { identity: 'alice', deviceId: 'bench-device' },
});

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-record-append-'));
  const redisServer = await startRedis(dir);
  const redis = new Redis(redisServer.url);
  try {
    const store = new RecordStore(redis, createKeys('bench:'));
    const load = loadavg()[0];
    const single = Array.from({ length: N }, version);
    const batched = Array.from({ length: N }, version);
    const [singleGroup, batchGroup] = [hex(), hex()];
    await store.append(hex(), version(), new Date()); // loads the script on the connection

    let t0 = performance.now();
    for (const v of single) await store.append(singleGroup, v, new Date());
    const singleRate = N / ((performance.now() - t0) / 1000);

    t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) await store.appendMany(batchGroup, batched.slice(i, i + BATCH), new Date());
    const batchRate = N / ((performance.now() - t0) / 1000);

    const ratio = batchRate / singleRate;
    log(`${N} versions: ${singleRate.toFixed(0)}/s one by one, ${batchRate.toFixed(0)}/s in batches of ${BATCH}`);
    return [
      {
        metric: `append rate, batches of ${BATCH} vs one round trip each (${N} versions)`,
        measured: `${batchRate.toFixed(0)} vs ${singleRate.toFixed(0)} versions/s (x${ratio.toFixed(1)})`,
        target: `x${TARGET_RATIO} or more`,
        pass: ratio >= TARGET_RATIO,
        note: `load average ${load.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`,
      },
    ];
  } finally {
    await redis.quit();
    await redisServer.close();
    await rm(dir, { recursive: true, force: true });
  }
}
