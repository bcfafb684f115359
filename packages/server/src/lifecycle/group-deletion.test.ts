import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectKeyOf, type ObjectStore } from '@conduit/shared';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { GroupRepository } from '../adapters/redis/groups.js';
import { createKeys, shardOf } from '../adapters/redis/keys.js';
import { FakeSyncAdmin, TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { startS3rver, type LocalS3 } from '../testing/s3rver.js';
import { GroupDeletion } from './group-deletion.js';
import { LegalHolds } from './legal-holds.js';
import { QuotaRefunds } from '../limits/quota-refunds.js';
import { ObjectEraser } from './object-eraser.js';
import { ObjectIndex } from './object-index.js';

// Real Redis and a real s3rver (Sync is a fake port): a deletion killed half-way is finished by
// the next run, with exactly one group-deleted entry; a hold placed after the tombstone stops it.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
let redis: Redis;
let local: LocalS3;
let index: ObjectIndex;
let holds: LegalHolds;
let groups: GroupRepository;
const logger = pino({ level: 'silent' });
const alice = { identity: 'alice', deviceId: 'dev-a' };

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  local = await startS3rver('lifecycle-group-deletion');
  index = new ObjectIndex(redis, keys);
  holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
  groups = new GroupRepository(redis, keys);
});

afterAll(async () => {
  await local.close();
  await redis.quit();
  await deleteKeys(prefix);
});

/** Deletion over the real parts; `store` may be a wrapper that fails on purpose. */
const deletionWith = (store: ObjectStore, sync = new FakeSyncAdmin()) => {
  const refunds = new QuotaRefunds(redis, keys);
  return new GroupDeletion({
    redis,
    keys,
    store,
    syncAdmin: sync,
    index,
    holds,
    eraser: new ObjectEraser({ redis, keys, store, index, holds, refunds }),
    refunds,
    logger,
  });
};

async function groupWithObjects(groupId: string, n: number): Promise<void> {
  await groups.create(groupId, 'alice', ['bob'], new Date());
  await groups.markReady(groupId);
  for (let i = 0; i < n; i += 1) {
    const objectId = `${i.toString(16).padStart(8, '0')}${'b'.repeat(24)}`;
    await index.staged(groupId, objectId, alice);
    await local.objectStore.client.send(
      new PutObjectCommand({ Bucket: local.s3.bucket, Key: objectKeyOf(groupId, objectId), Body: 'ct' }),
    );
  }
}

const entriesOf = async (groupId: string, type: string) =>
  (await redis.lrange(keys.auditPending(shardOf(groupId)), 0, -1))
    .map((item) => JSON.parse(item.slice(item.indexOf(' ') + 1)) as Record<string, unknown>)
    .filter((e) => e.type === type && e.groupId === groupId);

describe('GroupDeletion', () => {
  it('a run killed after the objects went is finished by the next; one group-deleted entry', async () => {
    const groupId = 'c'.repeat(32);
    await groupWithObjects(groupId, 3);
    const deletion = deletionWith(local.objectStore);
    await deletion.delete(groupId, 'alice');
    expect(await deletion.due()).toContain(groupId);

    // The "crash": listing the bucket for unindexed objects fails after the eraser ran.
    const crashing: ObjectStore = Object.assign(Object.create(local.objectStore) as ObjectStore, {
      listObjects: () => {
        throw new Error('killed');
      },
    });
    await expect(deletionWith(crashing).run(groupId)).rejects.toThrow('killed');
    expect(await entriesOf(groupId, 'group-deleted')).toEqual([]);
    expect(await deletion.due()).toContain(groupId); // still on the to-do list

    expect(await deletionWith(local.objectStore).run(groupId)).toBe('deleted');
    expect(await deletionWith(local.objectStore).run(groupId)).toBe('not-deleting'); // a late repeat
    const done = await entriesOf(groupId, 'group-deleted');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ by: 'alice', members: ['alice', 'bob'], objects: 3, records: 0 });
    expect(await entriesOf(groupId, 'objects-deleted')).toHaveLength(1);
    expect(await deletion.due()).not.toContain(groupId);
    expect(await redis.hgetall(keys.group(groupId))).toMatchObject({ state: 'deleted' });
    expect(await redis.exists(keys.groupMembers(groupId), keys.groupObjects(groupId))).toBe(0);
    expect(await groups.create(groupId, 'mallory', [], new Date())).toBe(false); // the id stays taken
  });

  it('refuses a held group up front, and stops (to retry later) when a hold comes after the tombstone', async () => {
    const groupId = 'd'.repeat(32);
    await groupWithObjects(groupId, 1);
    const deletion = deletionWith(local.objectStore);
    await holds.place('identity', 'bob', { name: 'case-2', reason: 'r', by: 'ops' });
    await expect(deletion.delete(groupId, 'alice')).rejects.toMatchObject({ code: 'LEGAL_HOLD' });
    await holds.release('identity', 'bob', 'ops', 'done');

    await deletion.delete(groupId, 'alice');
    await holds.place('group', groupId, { name: 'case-3', reason: 'r', by: 'ops' });
    expect(await deletion.run(groupId)).toBe('held');
    expect(await index.olderThan(groupId, Infinity, 10)).toHaveLength(1);
    await holds.release('group', groupId, 'ops', 'done');
    expect(await deletion.run(groupId)).toBe('deleted');
  });
});
