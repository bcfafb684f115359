import { randomBytes } from 'node:crypto';
import type { FeedPage } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedArchiveIndex } from '../../adapters/redis/feed-archive.js';
import { createKeys } from '../../adapters/redis/keys.js';
import { RecordStore, recordKeys, type VersionInput } from '../../adapters/redis/records.js';
import { S3FeedPages } from '../../adapters/s3/s3-feed-pages.js';
import { ObjectService } from '../../files/object-service.js';
import { ObjectIndex } from '../../lifecycle/object-index.js';
import { quotasOf } from '../../app-context.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix, testConfig } from '../../testing/fakes.js';
import { startS3rver, type LocalS3 } from '../../testing/s3rver.js';
import { RecordService } from '../record-service.js';
import { ArchivedFeed } from './archived-feed.js';
import { FeedCompactor } from './feed-compactor.js';
import { pageKey } from './feed-pages.js';
import type { FeedPageStore } from './page-store.js';

// Real Redis and a real s3rver: versions written through the store, compacted to S3 pages, read
// back through the record service's feed exactly as the feed route serves it.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const logger = pino({ level: 'silent' });
const hex = (): string => randomBytes(16).toString('hex');
const TAIL = { versions: 500, days: 0 };
let redis: Redis;
let local: LocalS3;
let pages: S3FeedPages;
let store: RecordStore;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  local = await startS3rver('feed-archive');
  pages = new S3FeedPages(local.s3);
  store = new RecordStore(redis, keys);
});

afterAll(async () => {
  pages.close();
  await local.close();
  await redis.quit();
  await deleteKeys(prefix);
});

const compactor = (pageStore: FeedPageStore) =>
  new FeedCompactor({ index: new FeedArchiveIndex(redis, keys), pages: pageStore, tail: TAIL, logger });

/** A service as the API builds it; versions are inline or tombstones, so nothing is presigned. */
const service = (archive: ArchivedFeed) =>
  new RecordService({
    records: store,
    objects: new ObjectService(local.objectStore, new ObjectIndex(redis, keys)),
    notifier: { notify: () => {} },
    quotas: quotasOf(testConfig(prefix), redis, keys),
    index: new ObjectIndex(redis, keys),
    archive,
  });

/**
 * `count` versions: record 0 gets only the first (a head that stays deep in the archive), the
 * rest go round-robin over 7 records, each on top of its record's head.
 */
async function writeGroup(count: number): Promise<string> {
  const groupId = hex();
  const records = Array.from({ length: 8 }, hex);
  const heads = new Map<string, string>();
  const sender = { identity: 'alice', deviceId: 'alice-device-1' };
  for (let n = 0; n < count; n += 100) {
    const batch: VersionInput[] = [];
    for (let i = n; i < Math.min(count, n + 100); i += 1) {
      const recordId = i === 0 ? records[0]! : records[1 + (i % 7)]!;
      const versionId = hex();
      batch.push({
        recordId,
        versionId,
        parentVersionId: heads.get(recordId) ?? null,
        pointerId: hex(),
        objectId: null,
        size: 0,
        deleted: i % 13 === 0,
        envelope: randomBytes(300).toString('base64'),
        sender,
      });
      heads.set(recordId, versionId);
    }
    const results = await store.appendMany(groupId, batch, new Date());
    expect(results.every((r) => r.kind === 'created')).toBe(true);
  }
  return groupId;
}

/** The whole feed as a reader pages it from seq 0. */
async function readAll(groupId: string, archive = new ArchivedFeed(pages)): Promise<FeedPage['entries']> {
  const entries: FeedPage['entries'] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: FeedPage = await service(archive).feed(groupId, after);
    entries.push(...page.entries);
    after = page.next;
  }
  return entries;
}

describe('feed archive', () => {
  it('after compaction a fresh reader gets the identical feed; Redis keeps the tail and the heads', async () => {
    const groupId = await writeGroup(2600);
    const before = await readAll(groupId);
    expect(before.map((e) => e.seq)).toEqual(Array.from({ length: 2600 }, (_, i) => i + 1));
    const firstHead = await store.head(groupId, before[0]!.recordId);

    expect(await compactor(pages).compactGroup(groupId)).toBe(2);
    expect(await readAll(groupId)).toEqual(before);

    const k = recordKeys(keys, groupId);
    // The tail (2001..2600) plus the one head below it (seq 1).
    expect(await redis.zcard(k.feed)).toBe(601);
    expect(await redis.hlen(k.versions)).toBe(601);
    expect(await redis.hlen(k.pointers)).toBe(601);
    expect(await store.head(groupId, before[0]!.recordId)).toEqual(firstHead);
    expect(await pages.get(pageKey(groupId, 1, 1000))).not.toBeNull();
    expect(await pages.get(pageKey(groupId, 2001, 3000))).toBeNull();
    // Nothing more is due until the tail grows by a page.
    expect(await compactor(pages).compactGroup(groupId)).toBe(0);
  });

  it('a crash between the PUT and the watermark loses nothing, and the rerun stores the same page', async () => {
    const groupId = await writeGroup(2600);
    const before = await readAll(groupId);
    const written = new Map<string, Buffer>();
    // Stores page 1, then dies after storing page 2 and before moving the watermark past it.
    const crashing: FeedPageStore = {
      get: (key) => pages.get(key),
      delete: (keys) => pages.delete(keys),
      async put(key, body) {
        await pages.put(key, body);
        written.set(key, body);
        if (written.size === 2) throw new Error('killed');
      },
    };
    await expect(compactor(crashing).compactGroup(groupId)).rejects.toThrow('killed');
    expect(await redis.hget(recordKeys(keys, groupId).archive, 'through')).toBe('1000');
    expect(await readAll(groupId)).toEqual(before);

    expect(await compactor(pages).compactGroup(groupId)).toBe(1);
    const second = pageKey(groupId, 1001, 2000);
    expect(await pages.get(second)).toEqual(written.get(second));
    const after = await readAll(groupId);
    expect(after).toEqual(before);
    expect(new Set(after.map((e) => e.seq)).size).toBe(2600);
  });

  it('two compactors at once archive each page once', async () => {
    const groupId = await writeGroup(2600);
    const before = await readAll(groupId);
    const [a, b] = await Promise.all([compactor(pages).compactGroup(groupId), compactor(pages).compactGroup(groupId)]);
    expect(a + b).toBe(2);
    expect(await readAll(groupId)).toEqual(before);
  });

  it('keeps versions younger than the tail days in Redis', async () => {
    const groupId = await writeGroup(1600);
    const recent = new FeedCompactor({
      index: new FeedArchiveIndex(redis, keys),
      pages,
      tail: { versions: 1, days: 1 },
      logger,
    });
    expect(await recent.compactGroup(groupId)).toBe(0);
    expect(await redis.zcard(recordKeys(keys, groupId).feed)).toBe(1600);
  });
});
