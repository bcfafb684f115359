import { randomBytes } from 'node:crypto';
import { createSyncCredentials, startSyncEmulator, type SyncEmulator } from '@conduit/devstack';
import { parseFeedNotification, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { safeObserver } from '../delivery/events.js';
import { GroupRepository } from '../adapters/redis/groups.js';
import { createKeys } from '../adapters/redis/keys.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { RecordStore, type VersionInput } from '../adapters/redis/records.js';
import { SyncWriteBudget } from '../adapters/redis/token-bucket.js';
import { LocalSyncHttpClient } from '../adapters/twilio/local-http-client.js';
import { TwilioSyncAdmin } from '../adapters/twilio/twilio-sync-admin.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { FeedNotifier } from './feed-notifier.js';

// The feed notifier against the Sync emulator (its default write limit on: 20/s per object) and
// real Redis: two notifiers with their own connections stand for two API processes.
const INTERVAL_MS = 200;
const hex = () => randomBytes(16).toString('hex');
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const logger = pino({ level: 'silent' });

/** The real adapter, with each written `feed` item noted (when the write began, and its seq). */
class RecordingSync {
  readonly writes: { at: number; seq: number }[] = [];
  constructor(private readonly inner: TwilioSyncAdmin) {}
  asAdmin(): SyncAdmin {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop !== 'setMapItem') return Reflect.get(target, prop, receiver) as unknown;
        return async (map: string, key: string, data: Record<string, unknown>, ttl: number) => {
          const at = Date.now();
          const outcome = await target.setMapItem(map, key, data, ttl);
          if (key === 'feed') this.writes.push({ at, seq: parseFeedNotification(data).seq });
          return outcome;
        };
      },
    });
  }
}

let emu: SyncEmulator;
let admin: TwilioSyncAdmin;
let creds: ReturnType<typeof createSyncCredentials>;
const connections: Redis[] = [];

beforeAll(async () => {
  creds = createSyncCredentials();
  emu = await startSyncEmulator(creds);
  admin = new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 5_000 });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
  await emu.close();
  await deleteKeys(prefix);
});

/** One "API process": its own Redis connection, store and notifier, sharing the Sync adapter. */
function apiProcess(sync: SyncAdmin, outcomes: string[] = []) {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  const records = new RecordStore(redis, keys);
  const observer = safeObserver({ onFeedNotified: (e) => outcomes.push(e.outcome) }, logger);
  const heal = {
    syncAdmin: sync,
    groups: new GroupRepository(redis, keys),
    ledger: new PointerLedger(redis, keys),
    audit: new AuditLog(redis, keys),
    observer,
    logger,
  };
  const notifier = new FeedNotifier({
    records,
    heal,
    budget: new SyncWriteBudget(redis, keys, 15),
    observer,
    logger,
    intervalMs: INTERVAL_MS,
    ttlSeconds: 3600,
  });
  return { records, notifier };
}

const tombstone = (sender: string): VersionInput => ({
  recordId: hex(),
  versionId: hex(),
  parentVersionId: null,
  pointerId: hex(),
  objectId: null,
  size: 0,
  deleted: true,
  envelope: 'c2VhbGVk',
  sender: { identity: sender, deviceId: 'device-0001' },
});

async function feedItem(groupId: string): Promise<{ seq: number; revision: string }> {
  const client = twilio(creds.accountSid, creds.authToken, { httpClient: new LocalSyncHttpClient(emu.restUrl) });
  const item = await client.sync.v1
    .services(creds.serviceSid)
    .syncMaps(syncMapOf(groupId))
    .syncMapItems('feed')
    .fetch();
  return { seq: parseFeedNotification(item.data).seq, revision: item.revision };
}

describe('feed notifier', () => {
  it('two processes appending for 1.5 s: at most one write per interval, and the last seq within about one', async () => {
    const groupId = hex();
    await admin.ensureMap(syncMapOf(groupId));
    const sync = new RecordingSync(admin);
    const [a, b] = [apiProcess(sync.asAdmin()), apiProcess(sync.asAdmin())];
    const refusedBefore = emu.faults.refusedWrites();

    const started = Date.now();
    let appends = 0;
    let lastSeq = 0;
    let lastAppendAt = 0;
    while (Date.now() - started < 1_500) {
      const p = appends % 2 === 0 ? a : b;
      const [result] = await p.records.appendMany(groupId, [tombstone('writer')], new Date());
      if (result?.kind !== 'created') throw new Error('append failed');
      lastSeq = result.version.seq;
      lastAppendAt = Date.now();
      p.notifier.notify(groupId);
      appends += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all([a.notifier.settled(), b.notifier.settled()]);
    const elapsed = Date.now() - started;

    const { writes } = sync;
    const trailing = writes.at(-1)!;
    const gaps = writes.slice(1).map((w, i) => w.at - writes[i]!.at);
    console.log(
      `feed notifier: ${appends} appends in ${elapsed} ms -> ${writes.length} Sync writes; ` +
        `smallest gap ${Math.min(...gaps)} ms; last seq written ${trailing.at - lastAppendAt} ms after the last append`,
    );
    // The Redis lock spaces the writes' starts one interval apart (the lock runs on Redis's clock;
    // the start is a little later, by as much as the event loop lags).
    expect(writes.length).toBeLessThanOrEqual(Math.floor(elapsed / INTERVAL_MS) + 1);
    expect(writes.length).toBeGreaterThanOrEqual(Math.floor(1_500 / INTERVAL_MS) - 1);
    expect(appends).toBeGreaterThan(3 * writes.length);
    // Trailing edge: the last append's seq is written, about one interval after it.
    expect(trailing.seq).toBe(lastSeq);
    expect(trailing.at - lastAppendAt).toBeLessThan(5 * INTERVAL_MS);
    // seqs only grow, and Sync holds the last one, each write a revision of one item.
    expect(writes.map((w) => w.seq)).toEqual([...writes.map((w) => w.seq)].sort((x, y) => x - y));
    const item = await feedItem(groupId);
    expect(item.seq).toBe(lastSeq);
    expect(Number(item.revision)).toBe(writes.length - 1);
    // Five writes a second are far below the emulator's limit.
    expect(emu.faults.refusedWrites() - refusedBefore).toBe(0);
    await Promise.all([a.notifier.close(), b.notifier.close()]);
  });

  it('a notification that meets 429 is retried and counted; a quiet group gets one write', async () => {
    const groupId = hex();
    const map = syncMapOf(groupId);
    await admin.ensureMap(map);
    const outcomes: string[] = [];
    const sync = new RecordingSync(admin);
    const p = apiProcess(sync.asAdmin(), outcomes);
    const [appended] = await p.records.appendMany(groupId, [tombstone('writer')], new Date());
    // Another writer used up the map's write limit (20 writes at once) just before.
    await Promise.all(Array.from({ length: 20 }, (_, i) => admin.setMapItem(map, `other${i}`, { i }, 60)));
    const refusedBefore = emu.faults.refusedWrites();
    p.notifier.notify(groupId);
    await p.notifier.settled();
    expect(emu.faults.refusedWrites()).toBeGreaterThan(refusedBefore);
    expect(outcomes.filter((o) => o === 'rate-limited').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o !== 'rate-limited')).toEqual(['written']);
    expect(appended).toMatchObject({ kind: 'created', version: { seq: 1 } });
    expect(sync.writes.map((w) => w.seq)).toEqual([1]);
    expect((await feedItem(groupId)).seq).toBe(1);
    await p.notifier.close();
  });

  it('a failed write is logged and counted, and the next notify writes again', async () => {
    const groupId = hex();
    await admin.ensureMap(syncMapOf(groupId));
    const outcomes: string[] = [];
    const p = apiProcess(admin, outcomes);
    await p.records.appendMany(groupId, [tombstone('writer')], new Date());
    emu.faults.failNextRest(1, 503);
    p.notifier.notify(groupId);
    await p.notifier.settled();
    expect(outcomes).toEqual(['failed']);
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS + 50));
    p.notifier.notify(groupId);
    await p.notifier.settled();
    expect(outcomes).toEqual(['failed', 'written']);
    expect((await feedItem(groupId)).seq).toBe(1);
    await p.notifier.close();
  });
});
