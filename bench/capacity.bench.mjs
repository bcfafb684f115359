/* global process, URLSearchParams */
// Capacity: 10,000 endpoints (1,000 groups x 10 endpoints: 5 identities with 2 devices each) on the
// local stack, every part in its own process (Redis with AOF, s3rver, the Sync emulator with
// Twilio's 20 writes/s per object on, `conduit-server api` and `worker`), for one day of a stated
// workload played in scaled time (default: the day in 90 s, 960x). Endpoints are simulated over
// HTTP with dev session tokens minted by the bench (the API's own HS256 dev sessions), not the
// SDK: 10,000 OPAQUE logins and E3Kit instances would cost hours. So envelopes and receipt
// signatures are random bytes of realistic size (the server stores them unchecked) and nobody
// subscribes to Sync (fan-out is not a Sync read or write). What the day does:
//   files: a sender uploads (presign, S3 PUT), registers the pointer (the server HEADs the object
//   and publishes the Sync item); each of the 9 other endpoints presigns a GET, downloads and
//   acknowledges; the worker purges the item after the last ack.
//   records: a writer posts the version with its value inline in the envelope (BENCH_CAP_INLINE=0:
//   presign, S3 PUT, and the server HEADs the object); the server appends it to the feed and
//   updates the group's coalesced `feed` Sync item. Readers catch up from the feed.
// Counted, not assumed: Sync REST requests and S3 requests pass through counting proxies
// (counting-proxy.mjs); Redis memory is read with INFO memory and MEMORY USAGE.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVirgilApp, startS3 } from '@conduit/devstack';
import { createKeys, SHARDS } from '@conduit/server';
import { envelopeSha256 } from '@conduit/shared';
import { Redis } from 'ioredis';
import { HttpClient } from './ack-to-purge.bench.mjs';
import { measureMemory, mintSession, stateBytes } from './capacity-lib.mjs';
import { RateCounter, startCountingProxy } from './counting-proxy.mjs';
import { conduitEnv, freePort, hex, pool, sleep, startConduit, startRedis, startSyncProcess } from './lib.mjs';

export const name = 'capacity';
export const description = '10,000 endpoints, one day of files and records in scaled time, local stack';

const env = (key, fallback) => Number(process.env[key] ?? fallback);
const GROUPS = env('BENCH_CAP_GROUPS', 1000);
/** Endpoints per group: half as many identities, two devices each. */
const PER_GROUP = env('BENCH_CAP_ENDPOINTS', 10);
const FILES_PER_ENDPOINT_DAY = env('BENCH_CAP_FILES', 0.02);
const RECORDS_PER_ENDPOINT_DAY = env('BENCH_CAP_RECORDS', 0.5);
const DAY_SECONDS = env('BENCH_CAP_DAY_SECONDS', 90);
/** Record values inline in the envelope (no S3 object), as the SDK writes values up to 4 KiB. */
const INLINE = env('BENCH_CAP_INLINE', 1) === 1;
/** File pointers registered and never acknowledged, to weigh a pending pointer. */
const PENDING_SAMPLE = 200;
/** Records per group the writes are spread over (so some versions update an existing record). */
const RECORDS_PER_GROUP = 4;
const FILE_BYTES = 4096;
const RECORD_OBJECT_BYTES = 512;
/** About a sealed record envelope with a small value inlined (the schema allows 6 KiB). */
const RECORD_ENVELOPE_BYTES = 1100;
const FILE_ENVELOPE_BYTES = 1024;
const SYNC_OBJECT_WRITES_PER_SECOND = 20;
const SCALE = 86_400 / DAY_SECONDS;

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-cap-'));
  const stops = [];
  try {
    await mkdir(join(dir, 'redis'));
    const redisProc = await startRedis(join(dir, 'redis'));
    stops.push(redisProc.close);
    const s3real = await startS3({ directory: join(dir, 's3') });
    stops.push(s3real.close);
    const sync = await startSyncProcess();
    stops.push(sync.close);
    await sync.setRateLimit(SYNC_OBJECT_WRITES_PER_SECOND);

    // Every Sync REST request and every S3 request of the run passes a counter.
    const syncLog = [];
    const s3Log = [];
    const syncProxy = await startCountingProxy(sync.restUrl, ({ body, ...r }) =>
      syncLog.push({ ...r, itemKey: new URLSearchParams(body.toString()).get('Key') }),
    );
    stops.push(syncProxy.close);
    const s3Proxy = await startCountingProxy(s3real.endpoint, ({ body: _body, ...r }) => s3Log.push(r));
    stops.push(s3Proxy.close);

    const virgil = await createVirgilApp();
    const [port, opsPort, workerOps] = [await freePort(), await freePort(), await freePort()];
    const secret = randomBytes(32).toString('base64url');
    const baseEnv = conduitEnv({
      redisUrl: redisProc.url,
      sync: { ...sync, restUrl: syncProxy.url },
      s3: { ...s3real, endpoint: s3Proxy.url },
      virgil,
      port,
      opsPort,
    });
    const runEnv = { ...baseEnv, CONDUIT_SESSION_SECRET: secret };
    const api = await startConduit('api', runEnv, `http://127.0.0.1:${port}`);
    stops.push(api.close);
    const worker = await startConduit(
      'worker',
      { ...runEnv, CONDUIT_OPS_PORT: String(workerOps) },
      `http://127.0.0.1:${workerOps}`,
    );
    stops.push(worker.close);
    const redis = new Redis(redisProc.url);
    stops.push(() => redis.quit());
    const keys = createKeys('conduit:');

    const client = new HttpClient();
    stops.push(async () => client.close());
    const apiUrl = `http://127.0.0.1:${port}`;
    const call = async (method, path, who, body, expect) => {
      const headers = { authorization: `Bearer ${who.token}` };
      const res = await client.request(method, apiUrl + path, headers, body && JSON.stringify(body));
      if (!expect.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${res.text}`);
      return res.text ? JSON.parse(res.text) : null;
    };

    // Population (not timed): every endpoint enrolls its device, every group's owner creates it.
    const t0 = Date.now();
    const groups = await Promise.all(
      Array.from({ length: GROUPS }, async (_, g) => {
        const identities = Array.from({ length: PER_GROUP / 2 }, (_, m) => `cap${g}-m${m}`);
        const endpoints = await Promise.all(
          identities.flatMap((identity) =>
            ['phone', 'laptop'].map(async (d) => {
              const deviceId = `${d}-${hex().slice(0, 12)}`;
              return { identity, deviceId, token: await mintSession(secret, identity, deviceId) };
            }),
          ),
        );
        return { groupId: hex(), endpoints, heads: new Map() };
      }),
    );
    const endpoints = groups.flatMap((g) => g.endpoints);
    await pool(endpoints, 64, (e) => call('PUT', `/v1/devices/${e.deviceId}`, e, undefined, [200]));
    const memDevices = await stateBytes(redis, keys);
    const syncBefore = syncLog.length;
    await pool(groups, 16, (g) =>
      call(
        'POST',
        '/v1/groups',
        g.endpoints[0],
        { groupId: g.groupId, members: [...new Set(g.endpoints.map((e) => e.identity))].slice(1) },
        [201],
      ),
    );
    const setupSyncWrites = syncLog.slice(syncBefore).filter(isWrite).length;
    const memGroups = await stateBytes(redis, keys);
    log(
      `population: ${endpoints.length} endpoints in ${GROUPS} groups in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `Redis ${perUnit(memDevices, endpoints.length)} B/endpoint, ` +
        `${perUnit(memGroups - memDevices, GROUPS)} B/group; ${perUnit(setupSyncWrites, GROUPS)} Sync writes/group created`,
    );

    // The day: an open-loop schedule (each operation starts at its time whatever earlier ones did).
    const files = Math.round(endpoints.length * FILES_PER_ENDPOINT_DAY);
    const records = Math.round(endpoints.length * RECORDS_PER_ENDPOINT_DAY);
    const ops = [
      ...Array.from({ length: files }, (_, i) => ({ kind: 'file', at: (i + 0.5) / files })),
      ...Array.from({ length: records }, (_, i) => ({ kind: 'record', at: (i + 0.25) / records })),
    ].sort((a, b) => a.at - b.at);
    const fileObjects = new Set();
    const recordObjects = new Set();
    const filePointers = new Set();
    const recordPointers = new Set();
    /** Pointer id -> group id of every file pointer: the ledger files a pointer's keys under its group. */
    const pointerGroups = new Map();
    const errors = [];
    const recordChains = new Map();
    let fileN = 0;
    let recordN = 0;

    /** The sender's half of a file: upload, then the pointer (the server HEADs and publishes). */
    const registerFile = async (g, sender) => {
      const upload = await call('POST', `/v1/groups/${g.groupId}/objects`, sender, { size: FILE_BYTES }, [201]);
      fileObjects.add(upload.objectId);
      await s3(client, 'PUT', upload.url, upload.headers, randomBytes(FILE_BYTES));
      const pointerId = hex();
      const envelope = randomBytes(FILE_ENVELOPE_BYTES).toString('base64');
      const pointer = { pointerId, objectId: upload.objectId, size: FILE_BYTES, envelope };
      pointerGroups.set(pointerId, g.groupId);
      await call('POST', `/v1/groups/${g.groupId}/pointers`, sender, pointer, [201]);
      return { pointerId, objectId: upload.objectId, envelope };
    };
    const sendFile = async (g) => {
      const sender = g.endpoints[fileN % g.endpoints.length];
      const { pointerId, objectId, envelope } = await registerFile(g, sender);
      filePointers.add(pointerId);
      const ack = { objectId, envelopeSha256: envelopeSha256(envelope), signature: SIGNATURE };
      await Promise.all(
        g.endpoints
          .filter((e) => e !== sender)
          .map(async (r) => {
            const get = await call('GET', `/v1/groups/${g.groupId}/objects/${objectId}`, r, undefined, [200]);
            await s3(client, 'GET', get.url, get.headers);
            await call('POST', `/v1/pointers/${pointerId}/ack`, r, ack, [200]);
          }),
      );
    };
    const writeRecord = async (g, n) => {
      const recordId = `${g.groupId.slice(0, 30)}${(n % RECORDS_PER_GROUP).toString(16).padStart(2, '0')}`;
      const writer = g.endpoints[n % g.endpoints.length];
      // Versions of one record are written one after the other (each names the last as parent).
      const previous = recordChains.get(recordId) ?? Promise.resolve();
      const mine = previous.then(async () => {
        // Values up to the inline bound travel in the sealed envelope only (BENCH_CAP_INLINE=0: S3).
        let objectId = null;
        if (!INLINE) {
          const upload = await call(
            'POST',
            `/v1/groups/${g.groupId}/objects`,
            writer,
            { size: RECORD_OBJECT_BYTES },
            [201],
          );
          recordObjects.add(upload.objectId);
          await s3(client, 'PUT', upload.url, upload.headers, randomBytes(RECORD_OBJECT_BYTES));
          objectId = upload.objectId;
        }
        const pointerId = hex();
        recordPointers.add(pointerId);
        const body = {
          versionId: hex(),
          parentVersionId: g.heads.get(recordId) ?? null,
          pointerId,
          objectId,
          deleted: false,
          envelope: randomBytes(RECORD_ENVELOPE_BYTES).toString('base64'),
        };
        await call('POST', `/v1/groups/${g.groupId}/records/${recordId}/versions`, writer, body, [201]);
        g.heads.set(recordId, body.versionId);
      });
      recordChains.set(
        recordId,
        mine.catch(() => {}),
      );
      return mine;
    };

    log(
      `day: ${files} files (x${PER_GROUP - 1} recipients) and ${records} record versions over ${DAY_SECONDS} s ` +
        `(1 s = ${(SCALE / 60).toFixed(0)} min)`,
    );
    const syncDayStart = syncLog.length;
    const s3DayStart = s3Log.length;
    const memBeforeDay = await usedMemory(redis);
    const start = Date.now();
    const inflight = [];
    for (const op of ops) {
      const wait = start + op.at * DAY_SECONDS * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      const promise =
        op.kind === 'file' ? sendFile(groups[fileN++ % GROUPS]) : writeRecord(groups[recordN % GROUPS], recordN++);
      inflight.push(promise.catch((err) => errors.push(err)));
    }
    const issued = (Date.now() - start) / 1000;
    await Promise.all(inflight);
    const deadline = Date.now() + 60_000;
    while ((await notPurged(redis, keys)) > 0 && Date.now() < deadline) await sleep(50);
    const daySeconds = (Date.now() - start) / 1000;
    log(
      `issued in ${issued.toFixed(1)} s, done in ${daySeconds.toFixed(1)} s; ${errors.length} errors` +
        (errors.length ? ` (first: ${String(errors[0]?.message ?? errors[0]).slice(0, 160)})` : ''),
    );

    const syncDay = syncLog.slice(syncDayStart);
    const s3Day = s3Log.slice(s3DayStart);
    // Not part of the day: pointers nobody acknowledges yet, weighed while pending.
    const pending = [];
    await pool(groups.slice(0, PENDING_SAMPLE), 16, async (g) => {
      pending.push((await registerFile(g, g.endpoints[0])).pointerId);
    });
    const memory = await measureMemory(redis, keys, {
      groups: groups.map((g) => g.groupId),
      filePointers: [...filePointers],
      pendingPointers: pending,
      pointerGroups,
      before: memBeforeDay,
    });
    const sync_ = syncFigures(syncDay, filePointers, recordPointers, files, records);
    const s3_ = s3Figures(s3Day, fileObjects, recordObjects, files, records);
    printTable(log, [
      ['Sync writes per file (publish + purge)', sync_.perFile],
      ['Sync writes per record version (the coalesced feed item)', sync_.perRecord],
      ['Sync 429 answers during the day', sync_.throttled],
      ['Sync writes, peak per map in one bench second', sync_.peakPerMap],
      ['Sync writes, peak per service in one bench second', sync_.peakAll],
      ['Sync writes, service mean per bench second', (sync_.total / DAY_SECONDS).toFixed(1)],
      ['  = per real second at this workload', (sync_.total / DAY_SECONDS / SCALE).toFixed(3)],
      ['S3 requests per file (PUT, server HEADs, GETs)', s3_.perFile],
      ['S3 requests per record version', s3_.perRecord],
      ['Redis B per endpoint (devices, identity)', perUnit(memDevices, endpoints.length)],
      ['Redis B per group (metadata, members)', perUnit(memGroups - memDevices, GROUPS)],
      ['Redis B per pending pointer (MEMORY USAGE)', memory.pendingPointer],
      [
        `Redis B per purged pointer, kept ${(memory.purgedTtlSeconds / 86400).toFixed(1)} more days`,
        memory.purgedPointer,
      ],
      ['Redis B per record version in the feed + indexes (MEMORY USAGE)', memory.recordVersion],
      ['  of which the feed sorted set', memory.feedOnly],
      ['Redis B per record version (INFO growth of the day, less the pointers)', memory.dayPerRecord],
    ]);
    log(
      `load average after the day: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    log(`S3 requests by kind: ${JSON.stringify(s3_.byKind)}; Sync requests by kind: ${JSON.stringify(sync_.byKind)}`);
    const complete = errors.length === 0;
    return [
      {
        metric: `Sync writes per record version (${records} versions)`,
        measured: sync_.perRecord,
        target: 'measured',
        pass: complete,
      },
      {
        metric: 'Redis B per record version (feed + indexes)',
        measured: memory.recordVersion,
        target: 'measured',
        pass: complete,
      },
      {
        metric: `day of ${endpoints.length} endpoints in ${DAY_SECONDS} s (scale ${SCALE.toFixed(0)}x)`,
        measured: `${daySeconds.toFixed(1)} s`,
        target: `<= ${DAY_SECONDS * 1.2} s`,
        pass: complete && daySeconds <= DAY_SECONDS * 1.2,
        note: `${errors.length} errors`,
      },
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** The receipt signature the server stores unchecked (the sender's SDK verifies receipts). */
const SIGNATURE = randomBytes(64).toString('base64');
const isWrite = (r) => r.method === 'POST' || r.method === 'DELETE';
const perUnit = (n, units) => (units === 0 ? 'n/a' : (n / units).toFixed(0));
/** Pointers still in 'purging' or waiting in an outbox, over every shard of the ledger's indexes. */
async function notPurged(redis, keys) {
  const replies = await redis
    .pipeline(
      SHARDS.flatMap((shard) => [
        ['zcard', keys.purgingPointers(shard)],
        ['llen', keys.outbox(shard)],
      ]),
    )
    .exec();
  return replies.reduce((sum, [err, n]) => {
    if (err) throw err;
    return sum + Number(n);
  }, 0);
}
const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);

async function s3(client, method, url, headers, body) {
  const res = await client.request(method, url, headers, body);
  if (res.status !== 200) throw new Error(`S3 ${method} answered ${res.status}`);
}

/** Sync REST v1 item writes, attributed to files or records by their item key (the pointer id). */
function syncFigures(requests, filePointers, recordPointers, files, records) {
  const perMap = new RateCounter();
  const byKind = {};
  let fileWrites = 0;
  let recordWrites = 0;
  let throttled = 0;
  for (const r of requests) {
    const m = /\/Maps\/([^/?]+)(?:\/(Items|Permissions)(?:\/([^/?]+))?)?/.exec(r.url);
    const kind = `${r.method} ${m?.[2] ?? (m ? 'Map' : 'other')} ${r.status}`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (r.status === 429) throttled += 1;
    if (!isWrite(r) || !m || r.status === 429) continue;
    perMap.add(m[1], r.at);
    // A create names its key in the form body, an update or delete in the path.
    const key = m[3] ?? r.itemKey ?? '';
    if (filePointers.has(key)) fileWrites += 1;
    // Record pointers today; the coalesced `feed` notification once records stop publishing pointers.
    else if (recordPointers.has(key) || key === 'feed') recordWrites += 1;
  }
  return {
    perFile: ratio(fileWrites, files),
    perRecord: ratio(recordWrites, records),
    throttled,
    peakPerMap: perMap.peakPerKey(),
    peakAll: perMap.peakAll(),
    total: perMap.total(),
    byKind,
  };
}

/** S3 requests by object: the object ids the bench got from presigning say file or record. */
function s3Figures(requests, fileObjects, recordObjects, files, records) {
  const byKind = {};
  let fileReqs = 0;
  let recordReqs = 0;
  for (const r of requests) {
    const objectId = /\/objects\/[0-9a-f]{32}\/([0-9a-f]{32})/.exec(r.url)?.[1];
    const what = fileObjects.has(objectId) ? 'file' : recordObjects.has(objectId) ? 'record' : 'other';
    byKind[`${what} ${r.method}`] = (byKind[`${what} ${r.method}`] ?? 0) + 1;
    if (what === 'file') fileReqs += 1;
    if (what === 'record') recordReqs += 1;
  }
  return { perFile: ratio(fileReqs, files), perRecord: ratio(recordReqs, records), byKind };
}

const ratio = (n, d) => (d === 0 ? 'n/a' : (n / d).toFixed(2));

function printTable(log, rows) {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) log(`${k.padEnd(width)}  ${v}`);
}
