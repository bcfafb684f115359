/* global process, fetch, URLSearchParams */
// Purge throughput: worker processes (`conduit-server worker`: outbox relay + BullMQ purge
// worker) draining N acknowledged pointers whose Sync items exist in the emulator (its own
// process, Twilio's write limit on). Timed from the moment the N ids land in the outboxes (one
// RENAME per ledger shard in one MULTI, and a relay wake-up, as if N last-acks had just happened)
// to the moment every pointer is 'purged' in the ledger. Two rounds in one run, same N and stack:
// one worker process, then two on one Redis.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createKeys, PointerLedger, SHARDS } from '@conduit/server';
import {
  basicAuth,
  conduitEnv,
  cpuMeter,
  formatCpu,
  freePort,
  hex,
  pool,
  sleep,
  startConduit,
  startRedis,
  startSyncProcess,
} from './lib.mjs';

export const name = 'purge-throughput';
export const description =
  'one, then two purge worker processes on one Redis against the Sync emulator (its own process)';

const N = Number(process.env.BENCH_PURGE_N ?? 20_000);
/** Items per map: at 2,000 purges/s spread round-robin, 400 maps see 5 deletes/s each. */
const PER_MAP = 50;
const MAPS = Math.max(1, Math.ceil(N / PER_MAP));
/** The worker's per-map Sync write budget: the production default, not raised for the bench. */
const WRITES_PER_MAP = 15;
const TARGET = 2000;
/**
 * Each round drains its own N pointers: first one worker process, then two sharing the queue.
 * BENCH_PURGE_ROUNDS=1 (or 2) runs only that round, e.g. for a CPU profile of one worker.
 */
const ROUNDS = process.env.BENCH_PURGE_ROUNDS ? process.env.BENCH_PURGE_ROUNDS.split(',').map(Number) : [1, 2];

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-'));
  const stops = [];
  try {
    await mkdir(join(dir, 'redis'));
    const redisProc = await startRedis(join(dir, 'redis'));
    stops.push(redisProc.close);
    const sync = await startSyncProcess();
    stops.push(sync.close);
    const redis = new Redis(redisProc.url);
    stops.push(() => redis.quit());
    const stack = { redisProc, redis, sync, keys: createKeys('conduit:') };
    const rows = [];
    const rates = [];
    for (const workers of ROUNDS) {
      // A clean Redis each round (no finished jobs of the last one); the same Redis and Sync processes.
      await redis.flushall();
      const round = await drain(stack, workers, log);
      rates.push(round.rate);
      rows.push({
        metric: `purges/s, ${workers} worker process${workers > 1 ? 'es' : ''}, N=${N} over ${MAPS} maps, ${WRITES_PER_MAP} writes/s/map budget`,
        measured: round.rate,
        target: `>= ${TARGET}`,
        pass: round.rate >= TARGET && round.purged === N && round.itemsLeft === 0,
        note: `${round.purged}/${N} purged, ${round.itemsLeft} items left; CPU ${formatCpu(round.cpu)}`,
      });
    }
    if (rates.length === 2) {
      log(
        `two workers / one worker: ${(rates[1] / rates[0]).toFixed(2)} (${rates[1]} / ${rates[0]} purges/s), load average ${loadavg()[0].toFixed(2)}`,
      );
    }
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sets up N acknowledged pointers with their Sync items, then times `workerCount` worker processes draining them. */
async function drain({ redisProc, redis, sync, keys }, workerCount, log) {
  const stops = [];
  try {
    // Setup (not timed): maps and items in Sync, ledger entries acknowledged by their only recipient.
    const c = sync.credentials;
    const auth = basicAuth(c.accountSid, c.authToken);
    const mapsUrl = `${sync.restUrl}/v1/Services/${c.serviceSid}/Maps`;
    const groups = Array.from({ length: MAPS }, hex);
    await pool(groups, 16, async (g) => {
      const res = await fetch(mapsUrl, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ UniqueName: `g_${g}` }),
      });
      await res.body?.cancel();
      if (res.status !== 201) throw new Error(`map create answered ${res.status}`);
    });
    const pointers = Array.from({ length: N }, (_, i) => ({ pointerId: hex(), groupId: groups[i % MAPS] }));
    log(`creating ${N} Sync items in ${MAPS} maps (${PER_MAP} each)`);
    await pool(pointers, 32, async ({ pointerId, groupId }) => {
      const res = await fetch(`${mapsUrl}/g_${groupId}/Items`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ Key: pointerId, Data: '{"v":1}', Ttl: '3600' }),
      });
      await res.body?.cancel();
      if (res.status !== 201) throw new Error(`item create answered ${res.status}`);
    });
    log('recording them in the ledger, each acknowledged by its recipient');
    const ledger = new PointerLedger(redis, keys);
    const sender = { identity: 'bench', deviceId: 'bench-sender' };
    const recipient = { identity: 'bench', deviceId: 'bench-recipient' };
    // What the ledger binds and an ack must name; the ledger stores the receipt's signature unchecked.
    const binding = { objectId: 'ab'.repeat(16), envelopeSha256: 'cd'.repeat(32) };
    await pool(pointers, 64, async ({ pointerId, groupId }) => {
      const outcome = await ledger.register({
        pointerId,
        groupId,
        sender,
        expected: [recipient],
        createdAt: new Date(),
        retentionSeconds: 3600,
        epoch: '0',
        binding,
      });
      if (outcome !== 'created') throw new Error(`register: ${outcome}`);
      const ack = await ledger.acknowledge(pointerId, recipient, { ...binding, signature: 'c2lnbmF0dXJl' });
      if (!ack.ok || ack.remaining !== 0) throw new Error('ack did not complete the pointer');
    });
    // Hold the outboxes back until the workers are up, so their start-up is not timed: each shard's
    // outbox is renamed to a key with the same hash tag (same slot), and back at the start.
    const held = (shard) => `${keys.outbox(shard)}:bench-held`;
    const filled = [];
    for (const shard of SHARDS) {
      if ((await redis.llen(keys.outbox(shard))) === 0) continue;
      await redis.rename(keys.outbox(shard), held(shard));
      filled.push(shard);
    }

    const workers = [];
    for (let i = 1; i <= workerCount; i += 1) {
      const [port, opsPort] = [await freePort(), await freePort()];
      const env = conduitEnv({
        redisUrl: redisProc.url,
        sync,
        s3: {
          bucket: 'bench',
          region: 'us-east-1',
          endpoint: 'http://127.0.0.1:9',
          accessKeyId: 'x',
          secretAccessKey: 'x',
        },
        virgil: { appId: 'bench', appKeyId: 'bench', appPrivateKey: 'unused' },
        port,
        opsPort,
        // Everything else (concurrency 32, lock 30 s, ...) at its production default.
        extra: { CONDUIT_SYNC_WRITES_PER_SECOND: String(WRITES_PER_MAP) },
      });
      const worker = await startConduit('worker', env, `http://127.0.0.1:${opsPort}`);
      stops.push(worker.close);
      workers.push({ ...worker, name: `worker-${i}`, opsPort });
    }
    const meter = cpuMeter([...workers, sync, redisProc, { name: 'bench', pid: process.pid }]);

    log(`releasing the outbox to ${workerCount} worker process${workerCount > 1 ? 'es' : ''}`);
    const ioBefore = await Promise.all(workers.map((w) => syscalls(w.pid)));
    await meter.start();
    const started = Date.now();
    await redis.config('RESETSTAT');
    const release = redis.multi();
    for (const shard of filled) release.rename(held(shard), keys.outbox(shard));
    // Wakes relays blocked on the wake-up list, as the last acks would have (relays also look every second).
    for (let i = 0; i < workerCount; i += 1) release.lpush(keys.outboxWake(), '1');
    await release.exec();
    let left = N;
    let lastTrace = started;
    while (left > 0 && Date.now() - started < 120_000) {
      await sleep(20);
      left = await sumOverShards(redis, (shard) => ['zcard', keys.purgingPointers(shard)]);
      left += await sumOverShards(redis, (shard) => ['llen', keys.outbox(shard)]);
      if (process.env.BENCH_TRACE && Date.now() - lastTrace >= 1000) {
        lastTrace = Date.now();
        const wait = await redis.llen(`${keys.bullPrefix()}:conduit-purge:wait`);
        log(
          `t=${((lastTrace - started) / 1000).toFixed(1)} s: outbox ${await sumOverShards(redis, (shard) => ['llen', keys.outbox(shard)])}, queued ${wait}, not purged ${left}`,
        );
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = await meter.stop();
    const ioAfter = await Promise.all(workers.map((w) => syscalls(w.pid)));
    if (process.env.BENCH_TRACE) {
      const stats = (await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_'));
      const rows = stats.map((l) => {
        const [, cmd, calls, usec] = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l) ?? [];
        return { cmd, calls: Number(calls), usec: Number(usec) };
      });
      rows.sort((a, b) => b.usec - a.usec);
      for (const r of rows.slice(0, 12))
        log(`redis ${r.cmd}: ${(r.calls / N).toFixed(2)} calls and ${(r.usec / N).toFixed(1)} us per purge`);
    }
    const backlog = await sumOverShards(redis, (shard) => ['llen', keys.auditPending(shard)]);
    const rate = Math.round((N - left) / seconds);

    // Verify, not trust: every pointer 'purged' and every Sync map empty.
    const states = await redis
      .pipeline(pointers.map((p) => ['hget', keys.pointer(p.groupId, p.pointerId), 'state']))
      .exec();
    const purged = states.filter(([, s]) => s === 'purged').length;
    let itemsLeft = 0;
    await pool(groups, 16, async (g) => {
      const page = await fetch(`${mapsUrl}/g_${g}/Items?PageSize=100`, { headers: { authorization: auth } }).then((r) =>
        r.json(),
      );
      itemsLeft += page.items.length;
    });
    const counted = await Promise.all(
      workers.map((w) => scrape(`http://127.0.0.1:${w.opsPort}/metrics`, 'conduit_purges_total')),
    );
    const deferred = await Promise.all(
      workers.map((w) => scrape(`http://127.0.0.1:${w.opsPort}/metrics`, 'conduit_purge_retries_total')),
    );
    log(
      `${purged}/${N} purged in ${seconds.toFixed(2)} s (${rate}/s); Sync items left: ${itemsLeft}; ` +
        `purges per worker: ${counted.join(' + ')}; retries/deferrals: ${deferred.join(' + ')}`,
    );
    log(`CPU (1 core = 100%): ${formatCpu(cpu)}`);
    const perPurge = cpu.map((c) => `${c.name} ${((c.share * seconds * 1e6) / N).toFixed(0)} us`).join(', ');
    log(`CPU time per purge: ${perPurge}`);
    // Socket reads and writes are syscalls: a count that, unlike CPU time, other load barely moves.
    const perPurgeIo = workers.map((w, i) => {
      const [r, wr] = [ioAfter[i].r - ioBefore[i].r, ioAfter[i].w - ioBefore[i].w];
      return `${w.name} ${((r * workerCount) / N).toFixed(2)} reads + ${((wr * workerCount) / N).toFixed(2)} writes`;
    });
    log(`syscalls per purge (of the purges of each worker, about N / workers): ${perPurgeIo.join(', ')}`);
    log(`audit receipts still waiting to be sealed at the end: ${backlog}; load average ${loadavg()[0].toFixed(2)}`);
    return { rate, purged, itemsLeft, cpu };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

/** Read and write syscalls of a process so far (Linux /proc/<pid>/io). */
async function syscalls(pid) {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
  return { r: field('syscr'), w: field('syscw') };
}

/** Sum of one integer-answering command (ZCARD, LLEN, ...) over every shard of a ledger index. */
async function sumOverShards(redis, command) {
  const replies = await redis.pipeline(SHARDS.map(command)).exec();
  return replies.reduce((sum, [err, n]) => {
    if (err) throw err;
    return sum + Number(n);
  }, 0);
}

/** Sum of a counter's samples in a Prometheus text exposition ('?' if it cannot be read). */
export async function scrape(url, metric) {
  try {
    const text = await fetch(url).then((r) => r.text());
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(metric)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return '?';
  }
}
