import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectKeyOf, type FeedPage, type RetentionRule } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { DEFAULT_RETENTION } from '../config.js';
import { GroupRetention } from './group-retention.js';
import { lifecycleOf, quotasOf } from '../app-context.js';
import { FeedArchiveIndex } from '../adapters/redis/feed-archive.js';
import { createKeys, shardOf } from '../adapters/redis/keys.js';
import { RecordsRetentionStore } from '../adapters/redis/records-retention.js';
import { RecordStore, recordKeys, type VersionInput } from '../adapters/redis/records.js';
import { S3FeedPages } from '../adapters/s3/s3-feed-pages.js';
import { ObjectService } from '../files/object-service.js';
import { ArchivedFeed } from '../records/archive/archived-feed.js';
import { FeedCompactor } from '../records/archive/feed-compactor.js';
import type { FeedPageStore } from '../records/archive/page-store.js';
import { RecordService } from '../records/record-service.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { startS3rver, type LocalS3 } from '../testing/s3rver.js';
import type { LegalHolds } from './legal-holds.js';
import type { ObjectEraser } from './object-eraser.js';
import type { ObjectIndex } from './object-index.js';
import type { QuotaRefunds } from '../limits/quota-refunds.js';
import { RecordsRetention } from './records-retention.js';
import type { RetentionRunContext, RetentionStepResult } from './retention-step.js';

// Real Redis and a real s3rver: a group's feed partly archived to S3 pages, then records retention;
// what is left is read back through the record service (as the feed route serves it) and the
// bucket is listed through the S3 API.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const logger = pino({ level: 'silent' });
const hex = (): string => randomBytes(16).toString('hex');
const DAY = 86_400_000;
const sender = { identity: 'alice', deviceId: 'alice-device-1' };

let redis: Redis;
let local: LocalS3;
let pages: S3FeedPages;
let store: RecordStore;
let index: ObjectIndex;
let eraser: ObjectEraser;
let holds: LegalHolds;
let refunds: QuotaRefunds;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  local = await startS3rver('records-retention');
  pages = new S3FeedPages(local.s3);
  store = new RecordStore(redis, keys);
  ({ index, holds, eraser, refunds } = lifecycleOf(redis, keys, local.objectStore, new AuditLog(redis, keys)));
});

afterAll(async () => {
  pages.close();
  await local.close();
  await redis.quit();
  await deleteKeys(prefix);
});

const retention = (pageStore: FeedPageStore = pages) =>
  new RecordsRetention({
    store: new RecordsRetentionStore(redis, keys),
    pages: pageStore,
    eraser,
    refunds,
    holds,
    policies: policiesWith({ kind: 'keep' }),
    logger,
  });

/** Group rules as the API stores them, over the given deployment records rule. */
const policiesWith = (records: RetentionRule) =>
  new GroupRetention(redis, keys, new AuditLog(redis, keys), { ...DEFAULT_RETENTION, records });

const ctx = (): RetentionRunContext => ({
  now: new Date(),
  signal: new AbortController().signal,
  takeDeletes: async () => {},
});
const empty = (): RetentionStepResult => ({ deleted: 0, bytes: 0, held: {}, failed: 0 });

const service = () =>
  new RecordService({
    records: store,
    objects: new ObjectService(local.objectStore, index),
    notifier: { notify: () => {} },
    quotas: quotasOf(testConfig(prefix), redis, keys),
    index,
    archive: new ArchivedFeed(pages),
  });

async function readAll(groupId: string): Promise<FeedPage['entries']> {
  const entries: FeedPage['entries'] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: FeedPage = await service().feed(groupId, after);
    entries.push(...page.entries);
    after = page.next;
  }
  return entries;
}

async function listed(prefixKey: string): Promise<string[]> {
  const found: string[] = [];
  for await (const page of local.objectStore.listObjects(prefixKey)) found.push(...page.map((o) => o.key));
  return found.sort();
}

const receipts = async (groupId: string) =>
  (await redis.lrange(keys.auditPending(shardOf(groupId)), 0, -1))
    .map((item) => JSON.parse(item.slice(item.indexOf(' ') + 1)) as { type: string; groupId: string; count: number })
    .filter((e) => e.type === 'records-deleted' && e.groupId === groupId);

interface Written {
  groupId: string;
  /** seq -> version facts. */
  versions: Map<
    number,
    { recordId: string; versionId: string; old: boolean; deleted: boolean; objectId: string | null }
  >;
  heads: Map<string, number>;
  tombstoned: string;
}

/**
 * 1,200 old versions (10 days): the first of a record written once, the rest over 6 records, every 50th with a value object in S3, the last of
 * record 0 a tombstone; then 600 recent ones over record 1 (a fresh head) and two new records.
 * The feed is then archived with a tail of 500: page 1-1000 goes to S3.
 */
async function writeGroup(): Promise<Written> {
  const groupId = hex();
  await redis.sadd(keys.readyGroups(), groupId);
  await redis.hset(keys.groupRetention(groupId), 'records', '1d');
  const oldRecords = Array.from({ length: 6 }, hex);
  // Written once, first: its head stays in the archived page, which is rewritten around it.
  const lone = hex();
  const newRecords = [oldRecords[1]!, hex(), hex()];
  const written: Written = { groupId, versions: new Map(), heads: new Map(), tombstoned: oldRecords[0]! };
  const headIds = new Map<string, string>();
  let seq = 0;
  const write = async (count: number, records: string[], old: boolean) => {
    for (let n = 0; n < count; n += 100) {
      const batch: VersionInput[] = [];
      for (let i = n; i < Math.min(count, n + 100); i += 1) {
        const recordId = old && i === 0 ? lone : records[i % records.length]!;
        const deleted = old && i === count - 6; // record 0's last old version
        let objectId: string | null = null;
        if (!deleted && i % 50 === 3) {
          objectId = hex();
          await index.staged(groupId, objectId, sender, new Date(), 2); // the quota counted 2 B
          await local.objectStore.client.send(
            new PutObjectCommand({ Bucket: local.s3.bucket, Key: objectKeyOf(groupId, objectId), Body: 'ct' }),
          );
          await index.bound(groupId, objectId, { state: 'record', pointerId: hex(), size: 2, sender });
        }
        const versionId = hex();
        batch.push({
          recordId,
          versionId,
          parentVersionId: headIds.get(recordId) ?? null,
          pointerId: hex(),
          objectId,
          size: objectId ? 2 : 0,
          deleted,
          envelope: randomBytes(200).toString('base64'),
          sender,
        });
        headIds.set(recordId, versionId);
        seq += 1;
        written.versions.set(seq, { recordId, versionId, old, deleted, objectId });
        written.heads.set(recordId, seq);
      }
      const at = old ? new Date(Date.now() - 10 * DAY) : new Date();
      const results = await store.appendMany(groupId, batch, at);
      expect(results.every((r) => r.kind === 'created')).toBe(true);
    }
  };
  await write(1200, oldRecords, true);
  expect(written.versions.get(written.heads.get(oldRecords[0]!)!)!.deleted).toBe(true);
  await write(600, newRecords, false);
  const compactor = new FeedCompactor({
    index: new FeedArchiveIndex(redis, keys),
    pages,
    tail: { versions: 500, days: 0 },
    logger,
  });
  expect(await compactor.compactGroup(groupId)).toBe(1);
  return written;
}

/** What the rule leaves: every recent version, and the heads of old records except the deleted one. */
function survivors(w: Written): number[] {
  return [...w.versions.entries()]
    .filter(([seq, v]) => !v.old || (w.heads.get(v.recordId) === seq && v.recordId !== w.tombstoned))
    .map(([seq]) => seq);
}

const objectsOf = (w: Written, seqs: number[]) =>
  seqs.map((s) => w.versions.get(s)!.objectId).filter((o): o is string => o !== null);

describe('records retention', () => {
  it('deletes expired history from Redis, the archived pages and S3; heads stay, a deleted record goes', async () => {
    const w = await writeGroup();
    const before = await readAll(w.groupId);
    expect(before).toHaveLength(1800);
    await redis.hset(keys.quotaUsage(sender.identity), 'bytes', 1_000_000);
    const result = empty();
    await retention().runGroup(w.groupId, ctx(), result);

    const kept = survivors(w);
    const expiredSeqs = [...w.versions.keys()].filter((s) => !kept.includes(s));
    expect(result.deleted).toBe(expiredSeqs.length);
    const after = await readAll(w.groupId);
    expect(after.map((e) => e.seq)).toEqual(kept);
    // Unexpired versions are served exactly as before (presigned GETs carry their signing time).
    const stored = (entries: FeedPage['entries']) =>
      entries.map(({ download, ...v }) => ({ ...v, get: download !== null }));
    expect(stored(after)).toEqual(stored(before.filter((e) => kept.includes(e.seq))));

    // Heads: every record's head stays but the tombstoned record's, which is gone entirely.
    for (const [recordId, seq] of w.heads) {
      const head = await store.head(w.groupId, recordId);
      if (recordId === w.tombstoned) expect(head).toBeNull();
      else expect(head?.versionId).toBe(w.versions.get(seq)!.versionId);
    }
    expect(await store.history(w.groupId, w.tombstoned)).toEqual([]);
    const k = recordKeys(keys, w.groupId);
    expect(await redis.exists(k.history(w.tombstoned))).toBe(0);
    // An old record's history is its head alone.
    const oldRecord = [...w.heads.keys()].find((r) => r !== w.tombstoned && w.versions.get(w.heads.get(r)!)!.old)!;
    expect((await store.history(w.groupId, oldRecord)).map((v) => v.seq)).toEqual([w.heads.get(oldRecord)]);

    // S3: the archived page was rewritten down to the one head in it (seq 1), under a new
    // generation; expired value objects are gone.
    expect(kept[0]).toBe(1);
    const pageObjects = await listed(`feed/${w.groupId}/`);
    expect(pageObjects).toHaveLength(1);
    expect(pageObjects[0]).toMatch(/\/1-1000\.g\d+\.jsonl\.gz$/);
    const objects = await listed(`objects/${w.groupId}/`);
    expect(objects).toEqual(
      objectsOf(w, kept)
        .map((o) => objectKeyOf(w.groupId, o))
        .sort(),
    );
    expect(objectsOf(w, expiredSeqs).length).toBeGreaterThan(0);
    // The writer's quota got back the counted bytes of each deleted value object and the deleted
    // envelopes' characters; its share of the feed is what is left.
    const charsOf = (entries: FeedPage['entries']) => entries.reduce((sum, e) => sum + e.envelope.length, 0);
    const deletedChars = charsOf(before.filter((e) => !kept.includes(e.seq)));
    const refunded = 2 * objectsOf(w, expiredSeqs).length + deletedChars;
    expect(deletedChars).toBeGreaterThan(0);
    expect(await redis.hget(keys.quotaUsage(sender.identity), 'bytes')).toBe(String(1_000_000 - refunded));
    expect(await redis.hget(k.envelopeBytes, sender.identity)).toBe(String(charsOf(after)));

    // One receipt per batch, naming every deleted version once.
    const written = await receipts(w.groupId);
    expect(written.reduce((sum, r) => sum + r.count, 0)).toBe(expiredSeqs.length);
    const named = written.flatMap((r) => (r as unknown as { versions: { seq: number }[] }).versions.map((v) => v.seq));
    expect(named.sort((a, b) => a - b)).toEqual(expiredSeqs);

    // A rerun changes nothing and writes no receipt.
    const again = empty();
    await retention().runGroup(w.groupId, ctx(), again);
    expect(again.deleted).toBe(0);
    expect(await receipts(w.groupId)).toHaveLength(written.length);
    expect(await redis.hget(keys.quotaUsage(sender.identity), 'bytes')).toBe(String(1_000_000 - refunded));
    expect(stored(await readAll(w.groupId))).toEqual(stored(after));
  });

  it('a run killed after a batch left Redis is finished by the next run, with one receipt', async () => {
    const w = await writeGroup();
    let deletes = 0;
    // Dies at the second page deletion: after that batch's script, before its receipt.
    const crashing: FeedPageStore = {
      get: (key) => pages.get(key),
      put: (key, body) => pages.put(key, body),
      async delete(keysToDelete) {
        deletes += 1;
        if (deletes === 2) throw new Error('killed');
        await pages.delete(keysToDelete);
      },
    };
    const first = empty();
    await expect(retention(crashing).runGroup(w.groupId, ctx(), first)).rejects.toThrow('killed');
    expect(await redis.exists(recordKeys(keys, w.groupId).retentionIntent)).toBe(1);
    const receiptsAfterCrash = (await receipts(w.groupId)).length;
    expect(receiptsAfterCrash).toBe(1);

    const second = empty();
    await retention().runGroup(w.groupId, ctx(), second);
    const kept = survivors(w);
    expect(first.deleted + second.deleted).toBe(w.versions.size - kept.length);
    expect((await readAll(w.groupId)).map((e) => e.seq)).toEqual(kept);
    expect(await listed(`feed/${w.groupId}/`)).toHaveLength(1);
    const written = await receipts(w.groupId);
    const named = written.flatMap((r) => (r as unknown as { versions: { seq: number }[] }).versions.map((v) => v.seq));
    expect(new Set(named).size).toBe(named.length);
    expect(named.length).toBe(w.versions.size - kept.length);
  });

  it('keeps everything under the keep rule and in a group under a legal hold', async () => {
    const w = await writeGroup();
    await redis.hset(keys.groupRetention(w.groupId), 'records', 'keep');
    await retention().runGroup(w.groupId, ctx(), empty());
    expect(await readAll(w.groupId)).toHaveLength(1800);
    await redis.hdel(keys.groupRetention(w.groupId), 'records');
    const held = new RecordsRetention({
      store: new RecordsRetentionStore(redis, keys),
      pages,
      eraser,
      refunds,
      holds,
      policies: policiesWith({ kind: 'age', seconds: 86_400 }),
      logger,
    });
    await holds.place('group', w.groupId, { name: 'case-1', reason: 'litigation', by: 'operator' });
    const result = empty();
    await held.runGroup(w.groupId, ctx(), result);
    expect(result.held[`group:${w.groupId}`]).toBe(1);
    expect(await readAll(w.groupId)).toHaveLength(1800);
    expect(await receipts(w.groupId)).toHaveLength(0);
  });
});
