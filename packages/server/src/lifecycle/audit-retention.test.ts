import { GENESIS_HASH, recordLine, sha256Hex, verifyAuditText, type AuditValue } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { createKeys, type Keys } from '../adapters/redis/keys.js';
import { AuditDropReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { AuditRetention } from './audit-retention.js';
import { LegalHolds } from './legal-holds.js';
import type { RetentionRunContext } from './retention-step.js';

// Real Redis: chains built through AuditLog (the sealer's path), trimmed by the retention step.
const base = randomKeyPrefix();
let next = 0;
const connections: Redis[] = [];
let redis: Redis;

const connect = (): Redis => {
  const c = new Redis(TEST_REDIS_URL);
  connections.push(c);
  return c;
};

beforeAll(() => {
  redis = connect();
});

afterAll(async () => {
  await deleteKeys(base);
  await Promise.all(connections.map((c) => c.quit()));
});

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00.000Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString();

interface Chain {
  keys: Keys;
  audit: AuditLog;
  holds: LegalHolds;
  retention: (days: number | 'keep') => AuditRetention;
}

function chain(): Chain {
  const keys = createKeys(`${base}${(next += 1)}:`);
  const audit = new AuditLog(redis, keys);
  const holds = new LegalHolds(redis, keys, audit);
  return {
    keys,
    audit,
    holds,
    retention: (days) =>
      new AuditRetention({
        redis,
        keys,
        holds,
        rule: days === 'keep' ? { kind: 'keep' } : { kind: 'age', seconds: days * 86_400 },
      }),
  };
}

const run = (step: AuditRetention, now = NOW) => {
  const taken: number[] = [];
  const context: RetentionRunContext = {
    now,
    signal: new AbortController().signal,
    takeDeletes: async (n) => {
      taken.push(n);
    },
  };
  return step.run(context).then((result) => ({ ...result, taken }));
};

const appendAt = async (c: Chain, at: string, extra: Record<string, AuditValue> = {}) =>
  c.audit.append({ type: 'test', at, ...extra });

/** The stored chain (what GET /v1/admin/audit serves from record 1) and its stated bounds. */
async function served(c: Chain) {
  const bounds = await c.audit.bounds();
  const lines: string[] = [];
  for await (const batch of c.audit.lines(1, bounds.head.seq, 7)) lines.push(...batch);
  return { ...bounds, lines, text: lines.map((l) => `${l}\n`).join('') };
}

const parse = (line: string) => JSON.parse(line) as { seq: number; prev: string; entry: Record<string, AuditValue> };

describe('audit log retention', () => {
  it('drops the expired records from the oldest, anchors the chain and records the trim in it', async () => {
    const c = chain();
    for (let n = 0; n < 12; n += 1) await appendAt(c, daysAgo(40 - n), { n }); // 40..29 days old
    for (let n = 12; n < 15; n += 1) await appendAt(c, daysAgo(1), { n });
    const before = await redis.lrange(c.keys.auditLog(), 0, -1);

    const result = await run(c.retention(30)); // 40..31 days old: 10 records
    expect(result).toMatchObject({ deleted: 10, held: {}, failed: 0, taken: [10] });
    expect(result.bytes).toBe(before.slice(0, 10).reduce((s, l) => s + Buffer.byteLength(l), 0));

    const after = await served(c);
    expect(after.base).toEqual({ seq: 10, hash: sha256Hex(before[9]!) });
    expect(after.head.seq).toBe(16);
    expect(after.lines.slice(0, 5)).toEqual(before.slice(10)); // the kept records are untouched
    const trimmed = parse(after.lines[5]!);
    expect(trimmed).toMatchObject({
      seq: 16,
      prev: sha256Hex(before[14]!),
      entry: { type: 'audit-trimmed', throughSeq: 10, throughHash: sha256Hex(before[9]!), count: 10, rule: '30d' },
    });
    // Verifiable from the anchor, against what the server states; a forged anchor is refused.
    expect(verifyAuditText(after.text, after.head, after.base)).toEqual({
      records: 6,
      head: after.head.hash,
      base: after.base,
      expectedHead: after.head,
    });
    expect(() => verifyAuditText(after.text, after.head, { seq: 0, hash: GENESIS_HASH })).toThrow(/stated base/);
    expect(() => verifyAuditText(after.lines.slice(1).join('\n'))).toThrow(/no audit-trimmed record/);

    // Idempotent: nothing more is old enough, nothing changes, nothing is recorded.
    expect(await run(c.retention(30))).toMatchObject({ deleted: 0, taken: [] });
    expect((await c.audit.bounds()).head.seq).toBe(16);

    // Sealing goes on after the anchor (the sealer's list-length check counts from it).
    await appendAt(c, daysAgo(0), { n: 15 });
    const later = await served(c);
    expect(later.head.seq).toBe(17);
    expect(verifyAuditText(later.text, later.head, later.base).records).toBe(7);
  });

  it('stops at the first record that is younger, however old the ones after it are', async () => {
    const c = chain();
    await appendAt(c, daysAgo(50));
    await appendAt(c, daysAgo(5));
    await appendAt(c, daysAgo(50));
    expect((await run(c.retention(30))).deleted).toBe(1);
    const after = await served(c);
    expect(after.base.seq).toBe(1);
    expect(after.lines.map((l) => parse(l).seq)).toEqual([2, 3, 4]);
  });

  it('keep drops nothing; a second trim moves the anchor again and keeps the chain verifiable', async () => {
    const c = chain();
    for (let n = 0; n < 4; n += 1) await appendAt(c, daysAgo(100 - n));
    expect(await run(c.retention('keep'))).toMatchObject({ deleted: 0, taken: [] });
    expect((await c.audit.bounds()).base.seq).toBe(0);

    expect((await run(c.retention(98))).deleted).toBe(2); // 100 and 99 days old
    // 99 days later the rest, the first trim's own record included, are past 98 days too.
    expect((await run(c.retention(98), new Date(NOW.getTime() + 99 * DAY))).deleted).toBe(3);
    const after = await served(c);
    expect(after.base.seq).toBe(5);
    expect(after.lines.map((l) => parse(l).entry)).toMatchObject([{ type: 'audit-trimmed', throughSeq: 5, count: 3 }]);
    expect(verifyAuditText(after.text, after.head, after.base)).toMatchObject({ records: 1, base: after.base });
  });

  it('a record that names a subject under legal hold stops the trim; releasing lets it go on', async () => {
    const c = chain();
    const groupId = 'ab'.repeat(16);
    await appendAt(c, daysAgo(60));
    await appendAt(c, daysAgo(59), { groupId });
    await appendAt(c, daysAgo(58), { acknowledgedBy: ['dana:phone-1'] });
    await appendAt(c, daysAgo(57));
    await c.holds.place('group', groupId, { name: 'case-7', reason: 'litigation', by: 'ops' }, new Date(daysAgo(1)));
    expect(await run(c.retention(30))).toMatchObject({ deleted: 1, held: { [`group:${groupId}`]: 1 } });

    await c.holds.place('identity', 'dana', { name: 'case-8', reason: 'subpoena', by: 'ops' }, new Date(daysAgo(1)));
    await c.holds.release('group', groupId, 'ops', 'settled', new Date(daysAgo(1)));
    // The group record goes; the endpoint key of the held identity stops the trim.
    expect(await run(c.retention(30))).toMatchObject({ deleted: 1, held: { 'identity:dana': 1 } });
    const after = await served(c);
    expect(parse(after.lines[0]!).entry).toMatchObject({ acknowledgedBy: ['dana:phone-1'] });
    expect(verifyAuditText(after.text, after.head, after.base).base).toEqual(after.base);
  });

  it('sealers appending from other connections while it trims never fork or corrupt the chain', async () => {
    const c = chain();
    for (let n = 0; n < 60; n += 1) await appendAt(c, daysAgo(90), { old: n });
    const writers = Array.from({ length: 4 }, () => new AuditLog(connect(), c.keys));
    const appends = Promise.all(
      writers.map(async (w, writer) => {
        for (let n = 0; n < 25; n += 1) await w.append({ type: 'test', at: daysAgo(0), writer, n });
      }),
    );
    // Trims race the sealers: several runs, each from its own connection.
    const trims = (async () => {
      let deleted = 0;
      for (let i = 0; i < 6; i += 1) {
        const step = new AuditRetention({
          redis: connect(),
          keys: c.keys,
          holds: c.holds,
          rule: { kind: 'age', seconds: 30 * 86_400 },
        });
        deleted += (await run(step)).deleted;
      }
      return deleted;
    })();
    const [, deleted] = await Promise.all([appends, trims]);
    expect(deleted).toBe(60);

    const after = await served(c);
    expect(after.base.seq).toBe(60);
    expect(await redis.llen(c.keys.auditLog())).toBe(after.head.seq - after.base.seq);
    expect(verifyAuditText(after.text, after.head, after.base).records).toBe(after.head.seq - 60);
    const entries = after.lines.map((l) => parse(l).entry);
    // Every appended entry once; the trims on record add up to the records dropped.
    const appended = entries.filter((e) => e['type'] === 'test').map((e) => `${e['writer']}/${e['n']}`);
    expect(new Set(appended).size).toBe(100);
    expect(appended).toHaveLength(100);
    const trims2 = entries.filter((e) => e['type'] === 'audit-trimmed');
    expect(trims2.reduce((s, e) => s + (e['count'] as number), 0)).toBe(60);
    expect(await c.audit.pendingCount()).toBe(0);
  });

  it('a sealer that commits between the scan and the drop is chained before the trim record', async () => {
    const c = chain();
    for (let n = 0; n < 5; n += 1) await appendAt(c, daysAgo(90), { old: n });
    const other = new AuditLog(connect(), c.keys);
    // takeDeletes runs between the scan and the drop: another process seals an entry there.
    const context: RetentionRunContext = {
      now: NOW,
      signal: new AbortController().signal,
      takeDeletes: () => other.append({ type: 'test', at: daysAgo(0), meanwhile: true }),
    };
    expect(await c.retention(30).run(context)).toMatchObject({ deleted: 5 });
    const after = await served(c);
    expect(after.base.seq).toBe(5);
    expect(after.lines.map((l) => parse(l).entry['type'])).toEqual(['test', 'audit-trimmed']);
    expect(verifyAuditText(after.text, after.head, after.base).records).toBe(2);
  });

  it('the drop script refuses a head or anchor that moved (nothing changes) and a line that is not the record', async () => {
    const c = chain();
    for (let n = 0; n < 3; n += 1) await appendAt(c, daysAgo(90), { n });
    const lines = await redis.lrange(c.keys.auditLog(), 0, -1);
    const { head } = await c.audit.bounds();
    const drop = (seq: number, hash: string, baseSeq: number, last: string) => {
      const record = recordLine({ type: 'audit-trimmed', at: NOW.toISOString() }, hash, seq + 1);
      return defineScripts(redis, 'auditDropOldest').auditDropOldest(
        [c.keys.auditLog(), c.keys.auditHead()],
        [seq, hash, baseSeq, GENESIS_HASH, 2, last, sha256Hex(last), record, sha256Hex(record)],
      );
    };
    // As read before another sealer appended record 3: stale head.
    expect(await drop(2, sha256Hex(lines[1]!), 0, lines[1]!)).toBe(AuditDropReply.Raced);
    expect(await drop(head.seq, head.hash, 1, lines[1]!)).toBe(AuditDropReply.Raced);
    expect(await drop(head.seq, head.hash, 0, lines[2]!)).toBe(AuditDropReply.ChainCorrupt);
    expect(await redis.lrange(c.keys.auditLog(), 0, -1)).toEqual(lines);
    expect(await c.audit.bounds()).toEqual({ head, base: { seq: 0, hash: GENESIS_HASH } });
    expect(await drop(head.seq, head.hash, 0, lines[1]!)).toBe(2);
  });

  it('lines() starts at the first record kept, whatever `from` asks', async () => {
    const c = chain();
    for (let n = 0; n < 5; n += 1) await appendAt(c, daysAgo(50 - n));
    await run(c.retention(47)); // 50, 49 and 48 days old
    const head = (await c.audit.bounds()).head.seq;
    const from = async (n: number) => {
      const lines: string[] = [];
      for await (const batch of c.audit.lines(n, head, 2)) lines.push(...batch);
      return lines.map((l) => parse(l).seq);
    };
    expect(await from(1)).toEqual([4, 5, 6]);
    expect(await from(3)).toEqual([4, 5, 6]);
    expect(await from(5)).toEqual([5, 6]);

    // A trim during a download: a batch located by a moved anchor is located again, and records
    // dropped before they were sent end the download early (the reader sees it stop short).
    for (let n = 0; n < 4; n += 1) await appendAt(c, daysAgo(46 - n)); // seqs 7..10
    const seqs = (batch: string[]) => batch.map((l) => parse(l).seq);
    const first = c.audit.lines(4, 10, 2);
    expect(seqs((await first.next()).value as string[])).toEqual([4, 5]);
    expect((await run(c.retention(44))).deleted).toBe(2); // 4 and 5; the trim record 6 is young
    const rest: number[] = [];
    for await (const batch of first) rest.push(...seqs(batch));
    expect(rest).toEqual([6, 7, 8, 9, 10]);

    const second = c.audit.lines(6, 11, 2);
    expect(seqs((await second.next()).value as string[])).toEqual([6, 7]);
    expect((await run(c.retention(44), new Date(NOW.getTime() + 100 * DAY))).deleted).toBe(6); // 6..11
    expect(await second.next()).toEqual({ done: true, value: undefined });
  });
});
