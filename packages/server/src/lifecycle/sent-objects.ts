import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';
import type { DeletionCause, ErasureOutcome, ObjectEraser } from './object-eraser.js';
import type { IndexedObject, ObjectIndex } from './object-index.js';

type Meta = Pick<IndexedObject, 'sender' | 'state' | 'pointerId' | 'size'>;

/**
 * Erases every object an identity uploaded (ObjectIndex.sentBy), group by group, through the one
 * object eraser (its receipts, its hold checks). Entries whose object the index forgot already (a
 * retention run, an earlier interrupted erasure) are dropped from the identity's set.
 */
export async function eraseSentObjects(
  deps: { redis: RedisClient; keys: Keys; index: ObjectIndex; eraser: Pick<ObjectEraser, 'erase'> },
  identity: string,
  cause: DeletionCause,
): Promise<Pick<ErasureOutcome, 'deleted' | 'bytes' | 'held'>> {
  const total = { deleted: 0, bytes: 0, held: 0 };
  for await (const page of deps.index.sentBy(identity)) {
    const byGroup = new Map<string, string[]>();
    for (const { groupId, objectId } of page) byGroup.set(groupId, [...(byGroup.get(groupId) ?? []), objectId]);
    for (const [groupId, objectIds] of byGroup) {
      const { indexed, forgotten } = await describe(deps, groupId, objectIds);
      await deps.index.forgetSender(
        identity,
        forgotten.map((objectId) => ({ groupId, objectId })),
      );
      if (indexed.length === 0) continue;
      const outcome = await deps.eraser.erase(groupId, indexed, cause);
      total.deleted += outcome.deleted;
      total.bytes += outcome.bytes;
      total.held += outcome.held;
    }
  }
  return total;
}

/** What the index knows of these objects of one group (read as ObjectIndex.olderThan reads it). */
async function describe(
  deps: { redis: RedisClient; keys: Keys },
  groupId: string,
  objectIds: readonly string[],
): Promise<{ indexed: IndexedObject[]; forgotten: string[] }> {
  const [scores, metas] = await Promise.all([
    deps.redis.zmscore(deps.keys.groupObjects(groupId), ...objectIds),
    deps.redis.hmget(deps.keys.groupObjectMeta(groupId), ...objectIds),
  ]);
  const indexed: IndexedObject[] = [];
  const forgotten: string[] = [];
  objectIds.forEach((objectId, i) => {
    const score = scores[i];
    if (score === null || score === undefined) {
      forgotten.push(objectId);
      return;
    }
    indexed.push({ groupId, objectId, createdMs: Number(score), ...parseMeta(metas[i] ?? null) });
  });
  return { indexed, forgotten };
}

function parseMeta(raw: string | null): Meta {
  if (raw === null) return { sender: '', state: 'staged' };
  try {
    return JSON.parse(raw) as Meta;
  } catch {
    return { sender: '', state: 'staged' };
  }
}
