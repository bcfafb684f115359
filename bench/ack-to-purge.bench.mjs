/* global process, URL, Buffer */
// Last-ack-to-purge latency on the local stack, every part in its own process: Redis (AOF),
// s3rver, the Sync emulator (Twilio's per-object write limit switched on), `conduit-server api`,
// `conduit-server worker`; this process only generates load. An open-loop schedule starts a
// pointer every 1/RATE s whatever happened to earlier ones (no coordinated omission): the sender
// registers it (the server binds it in the ledger and publishes its Sync item), then its 5
// recipient endpoints acknowledge at once. Latency per pointer is read from the ledger:
// 'purgingAt' (Redis clock, set by the script applying the last ack) to 'purgedAt' (set once Sync
// confirmed the delete). Every pointer of the run counts. Only public entry points and the HTTP
// API are used: accounts log in with OPAQUE through the SDK's building blocks.
import http from 'node:http';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient as ApiClient, login, registerAccount } from '@conduit/client';
import { createVirgilApp, startS3 } from '@conduit/devstack';
import { Redis } from 'ioredis';
import { createKeys, SHARDS } from '@conduit/server';
import { envelopeSha256, receiptStatement } from '@conduit/shared';
import { scrape } from './purge-throughput.bench.mjs';
import {
  basicAuth,
  childProcess,
  conduitEnv,
  cpuMeter,
  formatCpu,
  freePort,
  hex,
  percentile,
  sleep,
  startConduit,
  startRedis,
  startSyncProcess,
} from './lib.mjs';

export const name = 'ack-to-purge';
export const description = 'last ack -> Sync item deleted, 200 pointers/s x 5 endpoints for 10 s, local stack';

const RATE = Number(process.env.BENCH_POINTER_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Twilio's documented limit of writes per second per Sync object; the emulator enforces it (429). */
const SYNC_OBJECT_WRITES_PER_SECOND = 20;
/** The worker's own per-map budget (token bucket): the production default. */
const WRITES_PER_MAP = 15;
// Each pointer costs its map two writes (the server's publish, the worker's delete): 40 maps at
// 200 pointers/s are 10 writes/s per map, inside both limits.
const GROUPS = 40;
const OBJECT_SIZE = 64;
/** About a sealed envelope v3 (E3Kit-sealed JSON of at most 2 KiB, docs/format.md §10). */
const ENVELOPE_BYTES = 1024;
const TARGET_P99_MS = 250;

const SENDER = { identity: 'alice', deviceId: 'alice-phone' };
const RECIPIENTS = [
  { identity: 'alice', deviceId: 'alice-laptop' },
  { identity: 'bob', deviceId: 'bob-phone-1' },
  { identity: 'bob', deviceId: 'bob-laptop' },
  { identity: 'carol', deviceId: 'carol-phone' },
  { identity: 'carol', deviceId: 'carol-desk' },
];

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-'));
  const stops = [];
  try {
    await mkdir(join(dir, 'redis'));
    const redisProc = await startRedis(join(dir, 'redis'));
    stops.push(redisProc.close);
    const s3 = await startS3({ directory: join(dir, 's3') });
    stops.push(s3.close);
    const sync = await startSyncProcess();
    stops.push(sync.close);
    await sync.setRateLimit(SYNC_OBJECT_WRITES_PER_SECOND);
    const virgil = await createVirgilApp();
    const [port, opsPort, workerOps] = [await freePort(), await freePort(), await freePort()];
    const common = { redisUrl: redisProc.url, sync, s3, virgil };
    const extra = { CONDUIT_SYNC_WRITES_PER_SECOND: String(WRITES_PER_MAP) };
    const env = conduitEnv({ ...common, port, opsPort, extra });
    const api = await startConduit('api', env, `http://127.0.0.1:${port}`);
    stops.push(api.close);
    const worker = await startConduit(
      'worker',
      { ...env, CONDUIT_OPS_PORT: String(workerOps) },
      `http://127.0.0.1:${workerOps}`,
    );
    stops.push(worker.close);

    const client = new HttpClient();
    stops.push(async () => client.close());
    const apiUrl = `http://127.0.0.1:${port}`;
    const tokens = await openSessions(apiUrl);
    const call = async (method, path, who, body, expect) => {
      const headers = { authorization: `Bearer ${tokens.get(endpointOf(who))}`, 'conduit-device': who.deviceId };
      const res = await client.request(method, apiUrl + path, headers, body && JSON.stringify(body));
      if (res.status !== expect) throw new Error(`${method} ${path.split('/')[2]} answered ${res.status}`);
      return JSON.parse(res.text);
    };
    const groups = [];
    for (let i = 0; i < GROUPS; i += 1) {
      const groupId = hex();
      await call('POST', '/v1/groups', SENDER, { groupId, members: ['bob', 'carol'] }, 201);
      const upload = await call('POST', `/v1/groups/${groupId}/objects`, SENDER, { size: OBJECT_SIZE }, 201);
      const put = await client.request('PUT', upload.url, upload.headers, randomBytes(OBJECT_SIZE));
      if (put.status !== 200) throw new Error(`presigned PUT answered ${put.status}`);
      groups.push({ groupId, objectId: upload.objectId });
    }
    const total = RATE * SECONDS;
    // Every pointer and its 5 receipts are made before the clock starts: signing is the receivers'
    // work on their own machines, not the load generator's.
    const plan = planPointers(groups, total);
    const c = sync.credentials;
    const syncAuth = basicAuth(c.accountSid, c.authToken);
    const itemsUrl = (groupId) => `${sync.restUrl}/v1/Services/${c.serviceSid}/Maps/g_${groupId}/Items`;

    const timings = { register: [], acks: [], bySecond: [] };
    /** Pointers registered and acknowledged, with their groups (the ledger files a pointer's keys under its group). */
    const pointers = [];
    const errors = [];
    const one = async (n) => {
      const { groupId, pointer, acks } = plan[n];
      let t = Date.now();
      // The whole pointer: the server checks the object, binds it and publishes the Sync item.
      await call('POST', `/v1/groups/${groupId}/pointers`, SENDER, pointer, 201);
      timings.register.push(Date.now() - t);
      (timings.bySecond[Math.floor(n / RATE)] ??= []).push(Date.now() - t);
      t = Date.now();
      await Promise.all(
        RECIPIENTS.map((r, i) => call('POST', `/v1/pointers/${pointer.pointerId}/ack`, r, acks[i], 200)),
      );
      timings.acks.push(Date.now() - t);
      pointers.push({ pointerId: pointer.pointerId, groupId });
    };

    log(
      `driving ${RATE} pointers/s for ${SECONDS} s over ${GROUPS} groups (Sync maps); ` +
        `Sync emulator limit ${SYNC_OBJECT_WRITES_PER_SECOND} writes/s/object, worker budget ${WRITES_PER_MAP}/s/map`,
    );
    const s3rver = await childProcess('s3rver', 's3-process');
    const meter = cpuMeter([api, worker, sync, redisProc, s3rver, { name: 'load generator', pid: process.pid }]);
    await meter.start();
    const start = Date.now();
    const inflight = [];
    for (let n = 0; n < total; n += 1) {
      const wait = start + (n * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
      inflight.push(one(n).catch((err) => errors.push(err)));
    }
    const issuedSeconds = (Date.now() - start) / 1000;
    await Promise.all(inflight);
    const keys = createKeys('conduit:');
    const redis = new Redis(redisProc.url);
    stops.push(() => redis.quit());
    const deadline = Date.now() + 60_000;
    while ((await purgingCount(redis, keys)) > 0 && Date.now() < deadline) await sleep(20);
    const cpu = await meter.stop();
    const driveSeconds = (Date.now() - start) / 1000;
    log(
      `issued ${total} pointers in ${issuedSeconds.toFixed(1)} s; all acked and purged after ${driveSeconds.toFixed(1)} s; ` +
        `${errors.length} errors`,
    );
    if (errors.length > 0) log(`first error: ${String(errors[0]?.message ?? errors[0]).slice(0, 200)}`);
    const ms = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return `p50 ${percentile(s, 50)} / p99 ${percentile(s, 99)} ms`;
    };
    log(`client side: register (the server publishes) ${ms(timings.register)}, 5 acks ${ms(timings.acks)}`);
    log(`CPU (1 core = 100%): ${formatCpu(cpu)}`);
    const perPointer = cpu.map((x) => `${x.name} ${((x.share * driveSeconds * 1e6) / total).toFixed(0)}`).join(', ');
    log(`CPU time per pointer (us; 6 API requests, a Sync publish and one purge each): ${perPointer}`);
    if (process.env.BENCH_TRACE)
      log(`register max by second: ${timings.bySecond.map((xs) => Math.max(...xs)).join(' ')}`);

    const rows = await redis
      .pipeline(pointers.map((p) => ['hmget', keys.pointer(p.groupId, p.pointerId), 'state', 'purgingAt', 'purgedAt']))
      .exec();
    const latencies = [];
    for (const [err, [state, purgingAt, purgedAt]] of rows) {
      if (!err && state === 'purged') latencies.push(Date.parse(purgedAt) - Number(purgingAt));
    }
    latencies.sort((a, b) => a - b);
    let itemsLeft = 0;
    for (const { groupId } of groups) {
      const res = await client.request('GET', `${itemsUrl(groupId)}?PageSize=100`, { authorization: syncAuth });
      itemsLeft += JSON.parse(res.text).items.length;
    }
    const retries = await scrape(`http://127.0.0.1:${workerOps}/metrics`, 'conduit_purge_retries_total');
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    log(
      `purged ${latencies.length}/${total}; min ${latencies[0]} ms, max ${latencies.at(-1)} ms; ` +
        `Sync items left ${itemsLeft}; purge retries/deferrals (429s, throttling) ${retries}`,
    );
    const complete = errors.length === 0 && latencies.length === total && itemsLeft === 0;
    return [
      { metric: 'last ack -> purge p50 (ms)', measured: p50, target: '-', pass: complete },
      {
        metric: `last ack -> purge p99 (ms), ${RATE}/s x 5 endpoints, ${GROUPS} maps`,
        measured: p99,
        target: `< ${TARGET_P99_MS}`,
        pass: p99 < TARGET_P99_MS && complete,
        note: `${latencies.length}/${total} purged, ${errors.length} errors, ${itemsLeft} items left; CPU ${formatCpu(cpu)}`,
      },
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

const endpointOf = (who) => `${who.identity}:${who.deviceId}`;

/** Pointers in 'purging' over every shard of the ledger's index (one sorted set per shard). */
async function purgingCount(redis, keys) {
  const counts = await redis.pipeline(SHARDS.map((shard) => ['zcard', keys.purgingPointers(shard)])).exec();
  return counts.reduce((sum, [err, n]) => {
    if (err) throw err;
    return sum + Number(n);
  }, 0);
}

/**
 * Registers the three accounts and opens one session per endpoint (sessions are bound to a
 * device), with the SDK's OPAQUE client; each device enrolls itself. Returns the bearer tokens.
 */
async function openSessions(apiUrl) {
  const password = `bench-${hex()}`;
  const tokens = new Map();
  for (const identity of ['alice', 'bob', 'carol']) {
    await registerAccount(new ApiClient({ baseUrl: apiUrl }), identity, password);
  }
  for (const who of [SENDER, ...RECIPIENTS]) {
    const api = new ApiClient({ baseUrl: apiUrl });
    const outcome = await login(api, who.identity, password, who.deviceId);
    if (outcome.legacy) throw new Error(`${who.identity}: a fresh account answered legacy`);
    api.setSession(outcome.session.token);
    api.setDevice(who.deviceId);
    await api.registerDevice(who.deviceId);
    tokens.set(endpointOf(who), outcome.session.token);
  }
  return tokens;
}

/**
 * The run's pointers, round-robin over the groups, each with its own envelope and the 5 receipts
 * its recipients send. Receipts are real Ed25519 signatures over the receipt statement
 * (docs/format.md §11), made with node:crypto keys rather than the endpoints' Virgil keys: the
 * server only checks that a signature is bounded base64 and stores it (the sender's SDK verifies
 * it against the card, outside this measurement), so its path is the one real receipts take.
 */
function planPointers(groups, total) {
  const keys = RECIPIENTS.map(() => generateKeyPairSync('ed25519').privateKey);
  return Array.from({ length: total }, (_, n) => {
    const { groupId, objectId } = groups[n % groups.length];
    const pointerId = hex();
    const envelope = randomBytes(ENVELOPE_BYTES).toString('base64');
    const digest = envelopeSha256(envelope);
    const acks = RECIPIENTS.map((receiver, i) => {
      const statement = receiptStatement({
        pointerId,
        groupId,
        objectId,
        envelopeSha256: digest,
        sender: SENDER,
        receiver,
      });
      return { objectId, envelopeSha256: digest, signature: sign(null, statement, keys[i]).toString('base64') };
    });
    return { groupId, pointer: { pointerId, objectId, size: OBJECT_SIZE, envelope }, acks };
  });
}

/** A lean keep-alive HTTP client for the load generator (fetch costs this process more CPU). */
export class HttpClient {
  agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  request(method, url, headers = {}, body) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          method,
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}
