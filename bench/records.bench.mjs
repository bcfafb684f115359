/* global process, setTimeout, clearTimeout, performance, URL, fetch, Buffer */
// Records sync at scale on the local stack, with the Sync emulator's default per-object write
// limit (Twilio's 20 writes/s) on:
//  a) one device puts many small records concurrently into one group (the SDK batches them);
//     the Sync writes on the group's map are read from the emulator's write stats;
//  b) a fresh device of the same identity (new home, login restores the key) catches up on all
//     of them from the server's feed: every envelope opened and verified (E3Kit group.decrypt +
//     signature), applied to SQLite;
//  c) put-to-`change` latency at a steady rate with two other endpoints watching, each in a
//     process of its own (records-watcher.mjs), as devices are: three endpoints sharing this
//     process's one thread would measure their queueing on it.
// The stack (API, purge worker, Virgil directory, Sync emulator; s3rver and Redis as their own
// processes) runs as `conduit stack up` in a child process; this process only runs the clients.
import { fork, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConduitClient } from '@conduit/client';
import { syncMapOf } from '@conduit/shared';
import { percentile, pool, sleep } from './lib.mjs';

export const name = 'records';
export const description =
  'batched puts under the Sync write limit, fresh-device catch-up on 100,000 inline records, put-to-change latency';

// Knobs (keep runs short while developing): BENCH_RECORDS_PUT, BENCH_RECORDS_TOTAL,
// BENCH_PUT_CONCURRENCY, BENCH_LATENCY_RATE, BENCH_LATENCY_SECONDS.
const PUT_RECORDS = Number(process.env.BENCH_RECORDS_PUT ?? 20_000);
const TOTAL_RECORDS = Math.max(PUT_RECORDS, Number(process.env.BENCH_RECORDS_TOTAL ?? 100_000));
const PUT_CONCURRENCY = Number(process.env.BENCH_PUT_CONCURRENCY ?? 1000);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const TARGET_PUTS_PER_SECOND = 2_000;
const TARGET_CATCH_UP_PER_SECOND = 10_000;
const TARGET_P99_MS = 500;
/** The Sync emulator's default per-object limit (Twilio's documented 20 writes/s). */
const SYNC_LIMIT_PER_SECOND = 20;
const PASSWORD = 'bench password 1';
const load = () => `load average ${loadavg()[0].toFixed(2)}`;

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-records-'));
  const clients = [];
  let stack;
  try {
    stack = await startStack(join(dir, 'stack'));
    const open = async (identity, device) => {
      const client = await ConduitClient.open({
        serverUrl: stack.env.CONDUIT_SERVER_URL,
        virgilApiUrl: stack.env.CONDUIT_VIRGIL_API_URL,
        virgilServicePublicKey: stack.env.CONDUIT_VIRGIL_SERVICE_KEY,
        twilsockUri: stack.env.CONDUIT_TWILSOCK_URI,
        home: join(dir, device),
        identity,
      });
      clients.push(client);
      return client;
    };
    const writer = await open('alice', 'writer');
    await writer.register(PASSWORD);
    // The watchers' identities (their watching devices log in from their own processes in c).
    for (const [identity, device] of [
      ['bob', 'bob-phone'],
      ['carol', 'carol-desk'],
    ])
      await (await open(identity, device)).register(PASSWORD);

    // a) puts of small records (~100 bytes of JSON: inline), many at once.
    const group = await writer.createGroup([]);
    const records = await writer.records(group.groupId);
    const valueOf = (i) => ({ i, title: `Item ${i}`, tags: ['bench', `t${i % 17}`], body: 'x'.repeat(40) });
    const keyOf = (i) => `item/${String(i).padStart(6, '0')}`;
    const putRange = async (from, to) => {
      const indexes = Array.from({ length: to - from }, (_, k) => from + k);
      const started = performance.now();
      await pool(indexes, PUT_CONCURRENCY, (i) => records.put(keyOf(i), valueOf(i), { parent: null }));
      return (performance.now() - started) / 1000;
    };
    log(`putting ${PUT_RECORDS} records, ${PUT_CONCURRENCY} puts in flight (${load()})`);
    const putSeconds = await putRange(0, PUT_RECORDS);
    const putRate = PUT_RECORDS / putSeconds;
    const syncWrites = await stack.writeStats(syncMapOf(group.groupId));
    log(`put: ${putRate.toFixed(0)} records/s (${putSeconds.toFixed(1)} s; ${load()})`);
    log(
      `Sync writes on the group's map during the puts: ${syncWrites.writes} in all, at most ` +
        `${syncWrites.maxPerSecond} in any 1 s (limit ${SYNC_LIMIT_PER_SECOND}/s), ${syncWrites.refused} refused`,
    );

    // b) fill the group up to TOTAL_RECORDS, then a fresh device catches up on all of them.
    if (TOTAL_RECORDS > PUT_RECORDS) {
      const fillSeconds = await putRange(PUT_RECORDS, TOTAL_RECORDS);
      log(`filled up to ${TOTAL_RECORDS} records: ${((TOTAL_RECORDS - PUT_RECORDS) / fillSeconds).toFixed(0)}/s`);
    }
    const fresh = await open('alice', 'fresh-device');
    await fresh.login(PASSWORD);
    const replica = await fresh.records(group.groupId);
    log(`catching up on ${TOTAL_RECORDS} records (${load()})`);
    const syncStarted = performance.now();
    const cpuBefore = process.cpuUsage();
    const applied = await replica.sync();
    const syncSeconds = (performance.now() - syncStarted) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const syncRate = applied / syncSeconds;
    log(
      `catch-up: ${applied} versions in ${syncSeconds.toFixed(1)} s = ${syncRate.toFixed(0)} records/s; this ` +
        `(client) process used ${(((cpu.user + cpu.system) / 1e6 / syncSeconds) * 100).toFixed(0)}% of a core (${load()})`,
    );
    const sample = Array.from({ length: 20 }, (_, k) => Math.floor((k * TOTAL_RECORDS) / 20));
    const correct =
      applied === TOTAL_RECORDS &&
      replica.list().length === TOTAL_RECORDS &&
      sample.every((i) => JSON.stringify(replica.get(keyOf(i))?.value) === JSON.stringify(valueOf(i)));
    if (!correct) throw new Error('the fresh device does not hold exactly the records that were put');
    const parts = await breakdown(fresh, stack.env.CONDUIT_SERVER_URL, join(dir, 'fresh-device'), group.groupId);
    log(
      `catch-up parts, each alone: ${parts.pages} feed pages ${parts.feed.toFixed(2)} s; ${parts.opened} envelope ` +
        `opens (E3Kit group.decrypt + verify, one at a time) ${parts.opens.toFixed(2)} s = ${(parts.opened / parts.opens).toFixed(0)}/s` +
        `, of which virgil-crypto's group session decrypt alone ${parts.libraryOpens.toFixed(2)} s ` +
        `(${((parts.libraryOpens / parts.opened) * 1e6).toFixed(0)} µs per version)`,
    );

    // c) latency at a steady rate, two other endpoints watching a fresh group, each in its own process.
    const live = await writer.createGroup(['bob', 'carol']);
    const liveWriter = await writer.records(live.groupId);
    const latencies = [];
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const sentAt = new Map();
    const now = () => performance.timeOrigin + performance.now(); // wall clock, comparable across processes
    const watchers = await Promise.all(
      ['bob', 'carol'].map((identity) =>
        startWatcher(stack.env, join(dir, `${identity}-watcher`), identity, live.groupId, (key, at) => {
          const t = sentAt.get(key);
          if (t !== undefined) latencies.push(at - t);
        }),
      ),
    );
    log(`latency: ${total} puts at ${LATENCY_RATE}/s, 2 endpoints watching, each in its own process (${load()})`);
    const puts = [];
    const started = performance.now();
    const perTick = Math.max(1, Math.round(LATENCY_RATE / 100));
    for (let i = 0; i < total; i += perTick) {
      // Paced in 10 ms ticks: the writer issues its share of puts at each tick.
      const wait = started + (i / LATENCY_RATE) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      for (let k = i; k < Math.min(total, i + perTick); k++) {
        const key = `live/${k}`;
        sentAt.set(key, now());
        puts.push(liveWriter.put(key, { k }, { parent: null }));
      }
    }
    await Promise.all(puts);
    const deadline = performance.now() + 60_000;
    while (latencies.length < 2 * total && performance.now() < deadline) await sleep(50);
    await Promise.all(watchers.map((w) => w.stop()));
    const achieved = total / ((performance.now() - started) / 1000);
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const liveWrites = await stack.writeStats(syncMapOf(live.groupId));
    log(
      `latency: ${sorted.length}/${2 * total} changes seen, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; ` +
        `Sync writes on the map at most ${liveWrites.maxPerSecond} in any 1 s (limit ${SYNC_LIMIT_PER_SECOND}/s), ` +
        `${liveWrites.refused} refused (${load()})`,
    );

    const putPass = putRate >= TARGET_PUTS_PER_SECOND && syncWrites.maxPerSecond <= SYNC_LIMIT_PER_SECOND;
    const syncPass = syncRate >= TARGET_CATCH_UP_PER_SECOND;
    const latencyPass = sorted.length === 2 * total && p99 < TARGET_P99_MS;
    return [
      {
        metric: `put of ${PUT_RECORDS} small records (${PUT_CONCURRENCY} in flight)`,
        measured: `${putRate.toFixed(0)} records/s, Sync max ${syncWrites.maxPerSecond} writes/s`,
        target: `>= ${TARGET_PUTS_PER_SECOND} records/s, <= ${SYNC_LIMIT_PER_SECOND} writes/s`,
        pass: putPass,
        note: putPass ? undefined : `${putSeconds.toFixed(1)} s; ${syncWrites.refused} Sync writes refused`,
      },
      {
        metric: `catch-up of ${TOTAL_RECORDS} inline records (fresh device)`,
        measured: `${syncRate.toFixed(0)} records/s`,
        target: `>= ${TARGET_CATCH_UP_PER_SECOND} records/s`,
        pass: syncPass,
        note: syncPass
          ? undefined
          : `${syncSeconds.toFixed(1)} s; envelope opens alone ${(parts.opened / parts.opens).toFixed(0)}/s`,
      },
      {
        metric: `put-to-change latency at ${LATENCY_RATE}/s (achieved ${achieved.toFixed(0)}/s), 2 watchers`,
        measured: `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`,
        target: `p99 < ${TARGET_P99_MS} ms`,
        pass: latencyPass,
        note: latencyPass ? undefined : `${sorted.length}/${2 * total} changes seen`,
      },
    ];
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Forks a watching endpoint (records-watcher.mjs); resolves once it watches. `onChange` gets each
 * change's key and wall-clock time; stop() ends it.
 */
async function startWatcher(stackEnv, home, identity, groupId, onChange) {
  const child = fork(fileURLToPath(new URL('./records-watcher.mjs', import.meta.url)), [], {
    env: {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      STACK_ENV: JSON.stringify(stackEnv),
      WATCH_HOME: home,
      WATCH_IDENTITY: identity,
      WATCH_GROUP: groupId,
      WATCH_PASSWORD: PASSWORD,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.ready) resolve();
      for (const [key, at] of message.changes ?? []) onChange(key, at);
    });
    child.once('exit', (code) => reject(new Error(`the ${identity} watcher exited (code ${code})`)));
  });
  return {
    async stop() {
      child.send({ stop: true });
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** Envelopes opened alone (a sample, one at a time) to compare with catch-up's rate. */
const OPEN_SAMPLE = 5_000;

/**
 * Where catch-up time goes, each part measured alone on the same data: paging the feed, and
 * opening the envelopes (one E3Kit group.decrypt with signature check each; then the same with
 * the library's group session directly, the floor any client design pays per version). Bench-only:
 * it reaches into the client for its group keys and into E3Kit's group for its session.
 */
async function breakdown(client, serverUrl, home, groupId) {
  const { HttpClient } = await import('@conduit/client');
  const { token } = JSON.parse(await readFile(join(home, 'alice', 'session.json'), 'utf8'));
  const api = new HttpClient({ baseUrl: serverUrl });
  api.setSession(token);
  api.setDevice(client.deviceId);
  let started = performance.now();
  const sample = [];
  let pages = 0;
  for (let after = 0; ; pages++) {
    const page = await api.recordFeed(groupId, after);
    for (const e of page.entries) if (sample.length < OPEN_SAMPLE) sample.push(e.envelope);
    if (page.next === null) break;
    after = page.next;
  }
  const feed = (performance.now() - started) / 1000;
  const keys = await client['session'].keys();
  const decrypt = await keys.decryptorFor(groupId, 'alice');
  const sealed = sample.map((envelope) => Buffer.from(envelope, 'base64'));
  started = performance.now();
  for (const envelope of sealed) await decrypt(envelope);
  const opens = (performance.now() - started) / 1000;
  // The same opens without E3Kit's per-call checks: virgil-crypto's group session decrypt itself.
  const session = keys['groups'].get(groupId)['_session'];
  const { card } = await keys['pinned'].senderCard('alice');
  started = performance.now();
  for (const envelope of sealed) session.decrypt(envelope, card.publicKey);
  const libraryOpens = (performance.now() - started) / 1000;
  return { feed, pages: pages + 1, opens, libraryOpens, opened: sample.length };
}

/**
 * `conduit stack up --json` in a child process (default Sync write limit); resolves with the
 * client environment it prints and a reader of the emulator's write stats.
 */
async function startStack(dataDir) {
  const cli = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, '--json', '--home', dataDir, 'stack', 'up', '--data', dataDir], {
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const env = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local stack did not start in 60 s: ${stderr}`)), 60_000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve(JSON.parse(line).clientEnv);
    });
    child.once('exit', (code) => reject(new Error(`the local stack exited (code ${code}): ${stderr}`)));
  });
  // The emulator's REST side shares the Twilsock port; the account credentials are the stack's.
  const { sync } = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8'));
  const restUrl = env.CONDUIT_TWILSOCK_URI.replace(/^ws/, 'http').replace(/\/v3\/wsconnect$/, '');
  const auth = `Basic ${Buffer.from(`${sync.accountSid}:${sync.authToken}`).toString('base64')}`;
  return {
    env,
    async writeStats(map) {
      const res = await fetch(`${restUrl}/__emulator/write-stats/${encodeURIComponent(map)}`, {
        headers: { authorization: auth },
      });
      if (!res.ok) throw new Error(`Sync write stats: HTTP ${res.status}`);
      return res.json();
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
