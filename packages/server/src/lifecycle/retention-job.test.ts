import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectKeyOf, type RetentionRule } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
import { AuditLog } from '../audit/audit-log.js';
import type { ServerConfig } from '../config.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverS3Config, startS3 } from '@conduit/devstack';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import { GroupRetention } from './group-retention.js';
import { LegalHolds } from './legal-holds.js';
import { ObjectIndex } from './object-index.js';
import { filesRetentionSettings, retentionOf } from './retention-wiring.js';

// The retention run's files step against real Redis and a real s3rver: what goes (listed back through
// S3), what stays, the receipts and the run's summary.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const hex = () => randomBytes(16).toString('hex');
const DAY = 86_400_000;
const alice = { identity: 'alice', deviceId: 'dev-a' };
const logger = pino({ level: 'silent' });
let redis: Redis;
let local: Awaited<ReturnType<typeof devstackS3>>;
let index: ObjectIndex;
let audit: AuditLog;
let config: ServerConfig;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  local = await devstackS3();
  audit = new AuditLog(redis, keys);
  index = new ObjectIndex(redis, keys);
  config = { ...testConfig(prefix, { retention: { files: { kind: 'age', seconds: 30 * 86_400 } } }), s3: local.s3 };
});

afterAll(async () => {
  await local.close();
  await redis.quit();
  await deleteKeys(prefix);
});

/** The devstack's S3 (what a run's every step needs: multipart listing, lifecycle rules). */
async function devstackS3() {
  const directory = await mkdtemp(join(tmpdir(), 'lifecycle-retention-'));
  const s3 = await startS3({ directory, lifecycle: null });
  const conf: ServerConfig['s3'] = serverS3Config(s3, 300);
  const objectStore = new S3ObjectStore(conf);
  return {
    s3: conf,
    objectStore,
    async close() {
      objectStore.close();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

const run = () => retentionOf({ config, redis, keys, objectStore: local.objectStore, audit, logger }).run();

/** An object in the bucket and the index, handed out `ageMs` ago, bound as `state` when not staged. */
async function stored(groupId: string, ageMs: number, state: 'staged' | 'file' | 'record', pointerId = hex()) {
  const objectId = hex();
  await index.staged(groupId, objectId, alice, new Date(Date.now() - ageMs));
  if (state !== 'staged') await index.bound(groupId, objectId, { state, pointerId, size: 2, sender: alice });
  await local.objectStore.client.send(
    new PutObjectCommand({ Bucket: local.s3.bucket, Key: objectKeyOf(groupId, objectId), Body: 'ct' }),
  );
  return objectKeyOf(groupId, objectId);
}

async function listed(groupId: string): Promise<string[]> {
  const found: string[] = [];
  for await (const page of local.objectStore.listObjects(`objects/${groupId}/`)) found.push(...page.map((o) => o.key));
  return found.sort();
}

/** Sealed audit entries of one type. */
async function entries(type: string): Promise<Record<string, unknown>[]> {
  await audit.seal('all');
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry).filter((e) => e.type === type);
}

const setPolicy = (groupId: string, files: string) =>
  new GroupRetention(redis, keys, audit, {
    files: { kind: 'keep' },
    records: { kind: 'keep' },
    audit: { kind: 'keep' },
  }).set(groupId, 'owner', { files });

/** A ledger entry as the pointer scripts leave it (state, and when it left 'pending'). */
async function ledgerEntry(groupId: string, pointerId: string, state: string, leftPendingMsAgo?: number) {
  await redis.hset(keys.pointer(groupId, pointerId), {
    groupId,
    state,
    ...(leftPendingMsAgo === undefined ? {} : { purgingAt: String(Date.now() - leftPendingMsAgo) }),
  });
}

describe('retention run: files', () => {
  it('deletes expired files and orphaned staged uploads; keeps young files, records, young staging and held groups', async () => {
    const g = hex();
    const expired = [await stored(g, 40 * DAY, 'file'), await stored(g, 31 * DAY, 'file')];
    const orphan = await stored(g, 3 * DAY, 'staged');
    const kept = [
      await stored(g, 10 * DAY, 'file'),
      await stored(g, 400 * DAY, 'record'),
      await stored(g, 3_600_000, 'staged'),
    ];
    const ownKeep = hex();
    const ownKept = await stored(ownKeep, 90 * DAY, 'file');
    await setPolicy(ownKeep, 'keep');
    const held = hex();
    const heldKeys = [await stored(held, 90 * DAY, 'file'), await stored(held, 90 * DAY, 'file')];
    await new LegalHolds(redis, keys, audit).place('group', held, { name: 'case-7', reason: 'litigation', by: 'ops' });

    const summary = await run();

    expect(await listed(g)).toEqual([...kept].sort());
    expect(await listed(ownKeep)).toEqual([ownKept]);
    expect(await listed(held)).toEqual([...heldKeys].sort());
    const receipts = (await entries('objects-deleted')).filter((e) => e.groupId === g);
    expect(receipts.map((e) => e.cause)).toEqual(
      expect.arrayContaining([
        { kind: 'policy', policy: 'staging', rule: expect.any(String) as string },
        { kind: 'policy', policy: 'deployment', rule: '30d' },
      ]),
    );
    const named = receipts.flatMap((e) => (e.objects as { key: string }[]).map((o) => o.key));
    expect(named.sort()).toEqual([...expired, orphan].sort());
    expect(summary.outcome).toBe('completed');
    expect(summary.steps.files).toMatchObject({ held: { [`group:${held}`]: 2 }, failed: 0 });
    expect(summary.steps.files!.deleted).toBeGreaterThanOrEqual(3);
    const runs = await entries('retention-run');
    expect(runs.at(-1)).toMatchObject({ steps: { files: { held: { [`group:${held}`]: 2 } } } });
  });

  it('delivered+grace: never a pointer still pending; one that left pending longer than the grace ago, or whose entry expired', async () => {
    const g = hex();
    await setPolicy(g, 'delivered+1d');
    const [pending, recent, past, gone] = [hex(), hex(), hex(), hex()];
    const keepPending = await stored(g, 90 * DAY, 'file', pending);
    const keepRecent = await stored(g, 90 * DAY, 'file', recent);
    const deletePast = await stored(g, 90 * DAY, 'file', past);
    const deleteGone = await stored(g, 90 * DAY, 'file', gone);
    const young = await stored(g, 3_600_000, 'file', hex());
    await ledgerEntry(g, pending, 'pending');
    await ledgerEntry(g, recent, 'purged', 3_600_000);
    await ledgerEntry(g, past, 'purged', 2 * DAY);

    await run();

    expect(await listed(g)).toEqual([keepPending, keepRecent, young].sort());
    const named = (await entries('objects-deleted'))
      .filter((e) => e.groupId === g)
      .flatMap((e) => (e.objects as { key: string }[]).map((o) => o.key));
    expect(named.sort()).toEqual([deletePast, deleteGone].sort());
    // The pending pointer's object stays however old it gets, until the pointer leaves pending.
    await ledgerEntry(g, pending, 'expired', 2 * DAY);
    await run();
    expect(await listed(g)).toEqual([keepRecent, young].sort());
  });

  it('two runs at once: one holds the lease and deletes, the other is skipped; one receipt per object', async () => {
    const g = hex();
    const expired: string[] = [];
    for (let i = 0; i < 900; i += 50) {
      expired.push(...(await Promise.all(Array.from({ length: 50 }, () => stored(g, 40 * DAY, 'file')))));
    }
    const [a, b] = await Promise.all([run(), run()]);
    expect(await listed(g)).toEqual([]);
    const named = (await entries('objects-deleted'))
      .filter((e) => e.groupId === g)
      .flatMap((e) => (e.objects as { key: string }[]).map((o) => o.key));
    expect(named.sort()).toEqual([...expired].sort());
    expect([a.outcome, b.outcome].sort()).toEqual(['completed', 'skipped']);
    expect((a.steps.files?.deleted ?? 0) + (b.steps.files?.deleted ?? 0)).toBe(900);
  });

  it('writes no retention-run entry when nothing was deleted, held or failed', async () => {
    const before = (await entries('retention-run')).length;
    // Everything expired is gone already, the held group was released: an idle run.
    await new LegalHolds(redis, keys, audit)
      .list()
      .then((holds) =>
        Promise.all(holds.map((h) => new LegalHolds(redis, keys, audit).release(h.kind, h.id, 'ops', 'closed'))),
      );
    await run(); // deletes what the released hold kept
    const afterRelease = (await entries('retention-run')).length;
    const idle = await run();
    expect(idle.steps.files).toEqual({ deleted: 0, bytes: 0, held: {}, failed: 0 });
    expect((await entries('retention-run')).length).toBe(afterRelease);
    expect(afterRelease).toBe(before + 1);
  });

  it('derives the staging window from the upload and presign TTLs', () => {
    const rule: RetentionRule = { kind: 'keep' };
    const s = filesRetentionSettings({ ...config, retention: { files: rule } });
    expect(s.stagingSeconds).toBe(24 * 3600 + local.s3.presignTtlSeconds + 3600);
  });
});
