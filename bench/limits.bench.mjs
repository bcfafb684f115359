/* global performance, process */
// Issue 15's request limits: what one limiter check adds to a request, compared in the same run
// with the cheapest Redis round trip (PING) on the same connection to a dedicated Redis. Every
// /v1 request makes one check (its address), an authenticated one two (address, identity).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RequestLimits, createKeys } from '@conduit/server';
import { percentile, startRedis } from './lib.mjs';

export const name = 'limits';
export const description = 'one request-limit check vs one Redis PING, sequential and 1,000 in flight';

const CALLS = Number(process.env.BENCH_LIMITS_CALLS ?? 5000);
/** A check is one script call: it should cost about one round trip, not several. */
const TARGET_RATIO = 2;

async function latencies(fn) {
  const out = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push((performance.now() - t0) * 1000);
  }
  return out.sort((a, b) => a - b);
}

async function inFlight(fn) {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, CALLS - i) }, (_, j) => fn(i + j)));
  }
  return (CALLS / (performance.now() - t0)) * 1000;
}

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-limits-'));
  const redisProc = await startRedis(dir);
  const redis = new Redis(redisProc.url);
  try {
    // Budgets no run reaches: every call is counted, none refused.
    const limits = new RequestLimits(redis, createKeys('conduit:'), {
      perIdentity: 1e9,
      perAddress: 1e9,
      anonymousPerAddress: 1e9,
      windowSeconds: 60,
    });
    const check = (i) => limits.take('identity', { identity: `user${i % 1000}` });
    const ping = () => redis.ping();
    await latencies(check); // warm-up: script load, connection
    const [pings, checks] = [await latencies(ping), await latencies(check)];
    const [pingRate, checkRate] = [await inFlight(ping), await inFlight(check)];
    const ratio = percentile(checks, 50) / percentile(pings, 50);
    log(`${CALLS} calls each; p50/p99 PING ${percentile(pings, 50).toFixed(0)}/${percentile(pings, 99).toFixed(0)} µs`);
    return [
      {
        metric: 'limit check p50 / p99 (sequential), vs PING',
        measured: `${percentile(checks, 50).toFixed(0)} / ${percentile(checks, 99).toFixed(0)} µs (${ratio.toFixed(2)}x PING)`,
        target: `< ${TARGET_RATIO}x PING p50`,
        pass: ratio < TARGET_RATIO,
      },
      {
        metric: 'limit checks/s, 1,000 in flight, vs PING',
        measured: `${Math.round(checkRate)} (PING ${Math.round(pingRate)})`,
        target: '-',
        pass: true,
      },
    ];
  } finally {
    redis.disconnect();
    await redisProc.close();
    await rm(dir, { recursive: true, force: true });
  }
}
