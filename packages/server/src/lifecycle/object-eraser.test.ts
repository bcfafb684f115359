import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectKeyOf } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { createKeys, shardOf } from '../adapters/redis/keys.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { startS3rver, type LocalS3 } from '../testing/s3rver.js';
import { lifecycleOf } from '../app-context.js';
import type { LegalHolds } from './legal-holds.js';
import { QuotaStore } from '../adapters/redis/quotas.js';
import type { ObjectEraser } from './object-eraser.js';
import type { ObjectIndex } from './object-index.js';

// Real Redis and a real s3rver: objects indexed, put in the bucket, erased; listed back through S3.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
let redis: Redis;
let local: LocalS3;
let index: ObjectIndex;
let holds: LegalHolds;
let eraser: ObjectEraser;
const alice = { identity: 'alice', deviceId: 'dev-a' };

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  local = await startS3rver('lifecycle-eraser');
  ({ index, holds, eraser } = lifecycleOf(redis, keys, local.objectStore, new AuditLog(redis, keys)));
});

afterAll(async () => {
  await local.close();
  await redis.quit();
  await deleteKeys(prefix);
});

async function stored(groupId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${i.toString(16).padStart(8, '0')}${'a'.repeat(24)}`);
  for (const id of ids) {
    await index.staged(groupId, id, alice, new Date(1_000 + Number.parseInt(id.slice(0, 8), 16)));
    await local.objectStore.client.send(
      new PutObjectCommand({ Bucket: local.s3.bucket, Key: objectKeyOf(groupId, id), Body: 'ct' }),
    );
  }
  return ids;
}

async function listed(groupId: string): Promise<string[]> {
  const keysFound: string[] = [];
  for await (const page of local.objectStore.listObjects(`objects/${groupId}/`))
    keysFound.push(...page.map((o) => o.key));
  return keysFound;
}

const pendingEntries = async (groupId: string) =>
  (await redis.lrange(keys.auditPending(shardOf(groupId)), 0, -1)).map((item) =>
    JSON.parse(item.slice(item.indexOf(' ') + 1)),
  );

describe('ObjectEraser', () => {
  it('deletes from S3, forgets in the index and writes one receipt; a rerun writes none', async () => {
    const groupId = 'g-erase';
    const ids = await stored(groupId, 5);
    const older = await index.olderThan(groupId, 1_003, 100);
    expect(older.map((o) => o.objectId)).toEqual(ids.slice(0, 3));
    const outcome = await eraser.erase(groupId, older, { kind: 'policy', policy: 'deployment', rule: '30d' });
    expect(outcome).toMatchObject({ deleted: 3, held: 0, failed: [] });
    expect(await listed(groupId)).toEqual(ids.slice(3).map((id) => objectKeyOf(groupId, id)));
    const entries = (await pendingEntries(groupId)).filter((e) => e.groupId === groupId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'objects-deleted', count: 3 });
    // The same batch again (a rerun after a crash): S3 delete is a no-op, no second receipt.
    const again = await eraser.erase(groupId, older, { kind: 'policy', policy: 'deployment', rule: '30d' });
    expect(again.deleted).toBe(0);
    expect((await pendingEntries(groupId)).filter((e) => e.groupId === groupId)).toHaveLength(1);
  });

  it('leaves what a legal hold covers', async () => {
    const groupId = 'g-held';
    await stored(groupId, 2);
    await holds.place('group', groupId, { name: 'case-1', reason: 'litigation', by: 'ops' });
    const outcome = await eraser.erase(groupId, await index.olderThan(groupId, Infinity, 10), {
      kind: 'request',
      action: 'group-delete',
      by: 'alice',
    });
    expect(outcome).toMatchObject({ deleted: 0, held: 2 });
    expect(await listed(groupId)).toHaveLength(2);
    await expect(
      holds.assertNone({ groups: [groupId] }, { action: 'group-delete', by: 'alice' }),
    ).rejects.toMatchObject({ code: 'LEGAL_HOLD', details: { hold: { name: 'case-1' } } });
    expect(await holds.release('group', groupId, 'ops', 'case closed')).toBe(true);
    expect(
      (
        await eraser.erase(groupId, await index.olderThan(groupId, Infinity, 10), {
          kind: 'request',
          action: 'group-delete',
          by: 'alice',
        })
      ).deleted,
    ).toBe(2);
  });

  it("gives each uploader's counted bytes back once, whoever erases the batch and however often", async () => {
    const groupId = 'g-refund';
    const quotas = new QuotaStore(redis, keys);
    const bob = { identity: 'bob', deviceId: 'dev-b' };
    await quotas.reserveBytes('alice', 1_000, 10_000);
    await quotas.reserveBytes('bob', 500, 10_000);
    // Two PUTs by alice (bytes counted at presigning), one by bob; one open multipart upload by bob
    // (nothing counted yet), one completed (counted at completion), then bound to a file.
    const ids = ['1', '2', '3', '4', '5'].map((d) => d.repeat(32));
    await index.staged(groupId, ids[0]!, alice, new Date(1_000), 300);
    await index.staged(groupId, ids[1]!, alice, new Date(1_001), 200);
    await index.staged(groupId, ids[2]!, bob, new Date(1_002), 100);
    await index.staged(groupId, ids[3]!, bob, new Date(1_003));
    await index.staged(groupId, ids[4]!, bob, new Date(1_004));
    await index.counted(groupId, ids[4]!, 250);
    await index.bound(groupId, ids[4]!, { state: 'file', pointerId: 'p'.repeat(32), size: 9, sender: bob });
    expect((await index.find(groupId, ids[4]!))?.bytes).toBe(250); // binding keeps what was counted

    const all = await index.olderThan(groupId, Infinity, 10);
    const cause = { kind: 'request', action: 'group-delete', by: 'alice' } as const;
    const [first, second] = await Promise.all([eraser.erase(groupId, all, cause), eraser.erase(groupId, all, cause)]);
    expect(first.deleted + second.deleted).toBe(5);
    expect((await quotas.usage('alice')).bytes).toBe(1_000 - 500);
    expect((await quotas.usage('bob')).bytes).toBe(500 - 350);
    expect(await redis.llen(keys.quotaRefunds(shardOf(groupId)))).toBe(0);

    await eraser.erase(groupId, all, cause); // a rerun after a crash: nothing twice
    expect((await quotas.usage('alice')).bytes).toBe(500);
    expect((await quotas.usage('bob')).bytes).toBe(150);
  });
});
