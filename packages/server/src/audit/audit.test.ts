import { TEST_BINDING, TEST_RECEIPT } from '../testing/ledger.js';
import { createHash, randomBytes } from 'node:crypto';
import { type AuditValue, canonicalJson, ConduitError, GENESIS_HASH, verifyLines } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys, shardOf, type Keys } from '../adapters/redis/keys.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { TEST_REDIS_URL, deleteKeys, eventually, randomKeyPrefix } from '../testing/fakes.js';
import { AuditLog } from './audit-log.js';
import { AuditSealer } from './audit-sealer.js';
import { deletionReceipt } from './entries.js';
import { AuditChainCorruptError, SealStep, planSeal } from './seal.js';
import { verifyAuditText } from '@conduit/shared';

const base = randomKeyPrefix();
let next = 0;
const connections: Redis[] = [];
const logger = pino({ level: 'silent' });

const connect = (): Redis => {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
let redis: Redis;

beforeAll(() => {
  redis = connect();
});

afterAll(async () => {
  await deleteKeys(base);
  await Promise.all(connections.map((c) => c.quit()));
});

/** A chain of its own per test. */
const freshKeys = (): Keys => createKeys(`${base}${(next += 1)}:`);
const sha256 = (line: string) => createHash('sha256').update(line, 'utf8').digest('hex');
const chainOf = (keys: Keys) => redis.lrange(keys.auditLog(), 0, -1);
/** Entries waiting on every shard's pending list. */
const pendingOf = (keys: Keys) => new AuditLog(redis, keys).pendingCount();
const entry = (extra: Record<string, AuditValue> = {}) => ({ type: 'test', at: new Date().toISOString(), ...extra });

describe('audit log', () => {
  it('stores canonical {entry, prev, seq} lines whose hashes are node:crypto SHA-256', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    for (let n = 0; n < 70; n += 1) await audit.append(entry({ pad: 'x'.repeat(n), u: 'é→😀', n }));
    const lines = await chainOf(keys);
    expect(lines).toHaveLength(70);
    let prev = GENESIS_HASH;
    lines.forEach((line, i) => {
      const record = JSON.parse(line) as { entry: AuditValue; prev: string; seq: number };
      expect(record).toMatchObject({ seq: i + 1, prev, entry: { n: i } });
      expect(canonicalJson(record as unknown as AuditValue)).toBe(line);
      prev = sha256(line);
    });
    expect(await audit.head()).toEqual({ seq: 70, hash: prev });
    expect(await audit.pendingCount()).toBe(0);
  });

  it('200 concurrent appends from 8 instances on separate connections make one chain, each entry once', async () => {
    const keys = freshKeys();
    const writers = Array.from({ length: 8 }, () => new AuditLog(connect(), keys));
    // 5 lanes per instance, each appending 5 in a row: entries keep arriving while sealers race.
    await Promise.all(
      writers.flatMap((w, writer) =>
        Array.from({ length: 5 }, async (_, lane) => {
          for (let i = 0; i < 5; i += 1) await w.append(entry({ writer, n: lane * 5 + i }));
        }),
      ),
    );
    const lines = await chainOf(keys);
    expect(lines).toHaveLength(200);
    const head = await writers[0]!.head();
    expect(verifyLines(lines)).toEqual({ ok: true, records: 200, head: head.hash });
    expect(head).toEqual({ seq: 200, hash: sha256(lines[199]!) });
    const seen = lines.map((l) => {
      const e = (JSON.parse(l) as { entry: { writer: number; n: number } }).entry;
      return `${e.writer}/${e.n}`;
    });
    expect(new Set(seen).size).toBe(200);
    expect(await pendingOf(keys)).toBe(0);
  });

  it('a receipt committed with the transition survives a crash before sealing and is sealed exactly once', async () => {
    const keys = freshKeys();
    // The worker that "crashes": its ledger commits the transition, nothing seals afterwards.
    const ledger = new PointerLedger(redis, keys);
    const pointerId = randomBytes(16).toString('hex');
    const bob = { identity: 'bob', deviceId: 'bob-dev-01' };
    const input = { pointerId, groupId: 'g1', sender: { identity: 'alice', deviceId: 'alice-dev-1' } };
    expect(
      await ledger.register({
        ...input,
        expected: [bob],
        createdAt: new Date(),
        retentionSeconds: 600,
        binding: TEST_BINDING,
        epoch: '0',
      }),
    ).toBe('created');
    await ledger.acknowledge(pointerId, bob, TEST_RECEIPT);
    const at = new Date();
    const record = (await ledger.get(pointerId))!;
    expect(await ledger.markPurged(pointerId, 'g1', at, deletionReceipt(record, at, 'removed'))).toMatchObject({
      ok: true,
    });
    expect(await pendingOf(keys)).toBe(1);
    expect(await chainOf(keys)).toHaveLength(0);

    // A sealer that read the pending receipt, then stalled (its commit arrives late).
    const stalled = new SealStep(connect(), keys);
    const stalePlan = planSeal(await stalled.snapshot([shardOf('g1')], 10), new Date());
    expect(stalePlan.lines).toHaveLength(1);

    // Later: three workers' sealers start at once and race for it.
    const sealers = Array.from({ length: 3 }, () => new AuditSealer(new AuditLog(connect(), keys), logger, 20));
    sealers.forEach((s) => s.start());
    await eventually(async () => ((await chainOf(keys)).length === 1 ? true : undefined));
    await Promise.all(sealers.map((s) => s.stop()));
    // The stalled sealer's commit (or a resend of any sealer's commit) changes nothing.
    expect(await stalled.commit(stalePlan)).toBe(false);

    const lines = await chainOf(keys);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).entry).toMatchObject({
      type: 'deletion-receipt',
      pointerId,
      acknowledgedBy: ['bob:bob-dev-01'],
    });
    expect(verifyLines(lines).ok).toBe(true);
    expect(await pendingOf(keys)).toBe(0);
    // A repeated transition (a retried purge) adds no second receipt.
    expect(await ledger.markPurged(pointerId, 'g1', at, deletionReceipt(record, at, 'removed'))).toEqual({
      ok: false,
      reason: 'already',
    });
    expect(await pendingOf(keys)).toBe(0);
  });

  it('the ledger kicks a running sealer, so receipts reach the chain without waiting for its interval', async () => {
    const keys = freshKeys();
    const sealer = new AuditSealer(new AuditLog(redis, keys), logger, 60_000);
    const ledger = new PointerLedger(redis, keys, () => sealer.kick());
    sealer.start();
    try {
      const pointerId = randomBytes(16).toString('hex');
      const bob = { identity: 'bob', deviceId: 'bob-dev-01' };
      await ledger.register({
        pointerId,
        groupId: 'g1',
        sender: { identity: 'alice', deviceId: 'alice-dev-1' },
        expected: [bob],
        createdAt: new Date(),
        retentionSeconds: 600,
        binding: TEST_BINDING,
        epoch: '0',
      });
      await ledger.acknowledge(pointerId, bob, TEST_RECEIPT);
      const at = new Date();
      await ledger.markFailed(
        pointerId,
        'g1',
        at,
        canonicalJson({ type: 'purge-failed', at: at.toISOString(), pointerId }),
      );
      const lines = await eventually(async () => {
        const l = await chainOf(keys);
        return l.length === 1 ? l : undefined;
      }, 2_000);
      expect(JSON.parse(lines[0]!).entry).toMatchObject({ type: 'purge-failed', pointerId });
    } finally {
      await sealer.stop();
    }
  });

  it('a resent enqueue adds nothing: the entry id is taken', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    // What ioredis does when a reply is lost to a reconnect: the same command (same id) again.
    const id = 'c0ffee00-0000-4000-8000-000000000000';
    const item = `${id} ${canonicalJson(entry())}`;
    const enqueue = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<number>>)
      .conduitAuditEnqueue!;
    const shard = shardOf(id);
    const resend = () => enqueue.call(redis, keys.auditPending(shard), keys.auditEntryId(shard, id), item, 60);
    expect(await resend()).toBe(1);
    expect(await resend()).toBe(0);
    expect(await audit.seal()).toBe(1);
    expect(await resend()).toBe(0);
    expect(await audit.seal()).toBe(0);
    expect(await chainOf(keys)).toHaveLength(1);
  });

  it('an item sealed but still pending (a sealer died between its two writes) is taken off, not sealed again', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    const id = 'c0ffee00-0000-4000-8000-000000000001';
    const item = `${id} ${canonicalJson(entry())}`;
    const shard = shardOf(id);
    const enqueue = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<number>>)
      .conduitAuditEnqueue!;
    expect(await enqueue.call(redis, keys.auditPending(shard), keys.auditEntryId(shard, id), item, 60)).toBe(1);
    expect(await audit.seal()).toBe(1);
    // The chain commit landed, the trim of the pending list did not: the item is back in line.
    await redis.lpush(keys.auditPending(shard), item);
    expect(await audit.seal()).toBe(0);
    expect(await pendingOf(keys)).toBe(0);
    const lines = await chainOf(keys);
    expect(lines).toHaveLength(1);
    expect(verifyLines(lines).ok).toBe(true);
  });

  it('seals an item it did not write as a rejection record (by hash), keeping the chain valid', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    const bad = ['no-id-here', 'id-1 {"type":"x"}', 'id-2 { "at":"2030-01-01T00:00:00.000Z","type":"x"}'];
    await redis.rpush(keys.auditPending(0), ...bad);
    expect(await audit.seal()).toBe(3); // every shard
    await audit.append(entry({ after: true }));
    const lines = await chainOf(keys);
    expect(lines.map((l) => JSON.parse(l).entry)).toEqual([
      ...bad.map((b) => expect.objectContaining({ type: 'audit-entry-rejected', sha256: sha256(b) })),
      expect.objectContaining({ type: 'test', after: true }),
    ]);
    expect(verifyLines(lines).ok).toBe(true);
    expect(() => verifyAuditText(`${lines.join('\n')}\n`)).not.toThrow();
  });

  it('stops sealing (entries stay pending) when the chain list and its head disagree', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    await audit.append(entry());
    await audit.append(entry());
    await redis.rpop(keys.auditLog());
    await expect(audit.append(entry({ late: true }))).rejects.toBeInstanceOf(AuditChainCorruptError);
    expect(await pendingOf(keys)).toBe(1);
    expect(await audit.head()).toMatchObject({ seq: 2 });
  });

  it('any edited, deleted or reordered line is detected by the server and `conduit audit verify`', async () => {
    const keys = freshKeys();
    const audit = new AuditLog(redis, keys);
    for (let n = 0; n < 12; n += 1) await audit.append(entry({ n }));
    const lines = await chainOf(keys);
    const head = await audit.head();
    const text = (l: string[]) => `${l.join('\n')}\n`;
    expect(verifyAuditText(text(lines), head)).toMatchObject({ records: 12, head: head.hash });

    const edited = [...lines];
    edited[4] = edited[4]!.replace('"n":4', '"n":5');
    const deleted = lines.filter((_, i) => i !== 4);
    const reordered = [...lines];
    [reordered[4], reordered[5]] = [reordered[5]!, reordered[4]!];
    const truncated = lines.slice(0, 11);
    for (const [tampered, seq] of [
      [edited, 6],
      [deleted, 5],
      [reordered, 5],
    ] as const) {
      expect(verifyLines(tampered)).toMatchObject({ ok: false, seq });
      expect(() => verifyAuditText(text(tampered), head)).toThrow(ConduitError);
    }
    expect(verifyLines(truncated).ok).toBe(true);
    expect(() => verifyAuditText(text(truncated), head)).toThrow(/truncated/);
  });
});
