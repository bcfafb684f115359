import { ConduitError, endpointKey, objectKeyOf, parseEndpointKey, type Endpoint } from '@conduit/shared';
import type { RedisClient } from '../adapters/redis/connection.js';
import { shardOf, type Keys } from '../adapters/redis/keys.js';

/**
 * What the index knows of one stored object. `staged`: the server handed out its id (presigned PUT
 * or multipart upload) and nothing refers to it yet; `file` / `record`: a file pointer or a record
 * version names it (`pointerId`, the ciphertext `size`).
 */
export interface IndexedObject {
  groupId: string;
  objectId: string;
  /** Endpoint key (`identity:deviceId`) of the uploader. */
  sender: string;
  state: 'staged' | 'file' | 'record';
  pointerId?: string;
  size?: number;
  /**
   * What the uploader's stored-bytes quota counted for the object (the declared size of its PUT or
   * completed multipart upload), given back when it is erased; absent: nothing is counted (an open
   * or aborted upload) or the object was indexed before quotas were refunded.
   */
  bytes?: number;
  /** When the server handed out the id (ms). */
  createdMs: number;
}

type Meta = Omit<IndexedObject, 'groupId' | 'objectId' | 'createdMs'>;

/**
 * The object index (docs/lifecycle.md): every ciphertext object the server hands out an id for, per
 * group, with its uploader and what refers to it, so retention and erasure find what to delete
 * without listing the bucket. Written before the client can upload (a crash leaves an entry for an
 * object that may not exist: deleting it is a no-op); each group's entries live in its shard's slot.
 */
export class ObjectIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /**
   * Records a freshly handed-out object id (idempotent), with the bytes the quota counted for it
   * (a presigned PUT; a multipart upload counts them at completion: `counted`).
   */
  async staged(groupId: string, objectId: string, sender: Endpoint, now = new Date(), bytes?: number): Promise<void> {
    const meta: Meta = { sender: endpointKey(sender), state: 'staged', ...(bytes === undefined ? {} : { bytes }) };
    await this.redis
      .multi()
      .zadd(this.keys.groupObjects(groupId), 'NX', now.getTime(), objectId)
      .hsetnx(this.keys.groupObjectMeta(groupId), objectId, JSON.stringify(meta))
      .sadd(this.keys.objectGroups(shardOf(groupId)), groupId)
      .exec();
    await this.redis.sadd(this.keys.identityObjects(sender.identity), `${groupId}/${objectId}`);
  }

  /** A file pointer or record version now names the object (only for an object still indexed). */
  async bound(
    groupId: string,
    objectId: string,
    ref: { state: 'file' | 'record'; pointerId: string; size: number; sender: Endpoint },
  ): Promise<void> {
    const meta: Meta = { sender: endpointKey(ref.sender), state: ref.state, pointerId: ref.pointerId, size: ref.size };
    await this.update(groupId, objectId, (old) => ({
      ...meta,
      ...(old.bytes === undefined ? {} : { bytes: old.bytes }),
    }));
  }

  /**
   * FORBIDDEN when the index knows the object and another identity uploaded it: a file pointer or
   * record version may only name its writer's own objects (withdrawing or retention would
   * otherwise erase another member's object, and refund its bytes to the wrong identity). Objects
   * the index does not know (stored before it existed) pass.
   */
  async assertUploadedBy(groupId: string, objectId: string, identity: string): Promise<void> {
    const [counted] = await this.counts(groupId, [objectId]);
    if (counted?.uploader != null && counted.uploader !== identity) {
      throw new ConduitError('FORBIDDEN', 'The object was uploaded by another identity.');
    }
  }

  /** A multipart upload completed: its quota now counts `bytes` for good (only for an object still indexed). */
  async counted(groupId: string, objectId: string, bytes: number): Promise<void> {
    await this.update(groupId, objectId, (old) => ({ ...old, bytes }));
  }

  /** Rewrites an indexed object's meta; the object's own requests write it one after the other. */
  private async update(groupId: string, objectId: string, change: (old: Meta) => Meta): Promise<void> {
    const [known, raw] = (await this.redis
      .multi()
      .zscore(this.keys.groupObjects(groupId), objectId)
      .hget(this.keys.groupObjectMeta(groupId), objectId)
      .exec()) as [[Error | null, string | null], [Error | null, string | null]];
    if (known[0] ?? raw[0]) throw known[0] ?? raw[0];
    if (known[1] === null) return;
    await this.redis.hset(this.keys.groupObjectMeta(groupId), objectId, JSON.stringify(change(parseMeta(raw[1]))));
  }

  /**
   * The group's objects handed out before `beforeMs` (Infinity: all), oldest first, at most `limit`.
   * Callers that delete what they get call again until it comes back empty; callers that keep
   * some skip the ones kept with `offset`.
   */
  async olderThan(groupId: string, beforeMs: number, limit: number, offset = 0): Promise<IndexedObject[]> {
    const flat = await this.redis.zrangebyscore(
      this.keys.groupObjects(groupId),
      '-inf',
      Number.isFinite(beforeMs) ? `(${beforeMs}` : '+inf',
      'WITHSCORES',
      'LIMIT',
      offset,
      limit,
    );
    return this.describe(groupId, pairs(flat));
  }

  /** One object, or null when the index does not know it (never indexed, or forgotten). */
  async find(groupId: string, objectId: string): Promise<IndexedObject | null> {
    const score = await this.redis.zscore(this.keys.groupObjects(groupId), objectId);
    if (score === null) return null;
    const [found] = await this.describe(groupId, [[objectId, score]]);
    return found ?? null;
  }

  /**
   * Who uploaded each object and what the quota counted for it, as the index holds them (not
   * indexed, or nothing counted: no bytes). What erasure gives back.
   */
  async counts(groupId: string, objectIds: readonly string[]): Promise<{ uploader: string | null; bytes?: number }[]> {
    if (objectIds.length === 0) return [];
    const metas = await this.redis.hmget(this.keys.groupObjectMeta(groupId), ...objectIds);
    return metas.map((raw) => {
      const meta = parseMeta(raw);
      const uploader = meta.sender === '' ? null : parseEndpointKey(meta.sender).identity;
      return meta.bytes === undefined ? { uploader } : { uploader, bytes: meta.bytes };
    });
  }

  /** The '<groupId>/<objectId>' pairs an identity uploaded, page by page. */
  async *sentBy(identity: string, page = 500): AsyncGenerator<{ groupId: string; objectId: string }[]> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.keys.identityObjects(identity), cursor, 'COUNT', page);
      cursor = next;
      if (members.length > 0) {
        yield members.map((m) => {
          const slash = m.indexOf('/');
          return { groupId: m.slice(0, slash), objectId: m.slice(slash + 1) };
        });
      }
    } while (cursor !== '0');
  }

  /** How many of the group's objects are still indexed (another eraser may have taken some). */
  async stillIndexed(groupId: string, objectIds: readonly string[]): Promise<number> {
    if (objectIds.length === 0) return 0;
    const scores = await this.redis.zmscore(this.keys.groupObjects(groupId), ...objectIds);
    return scores.filter((s) => s !== null).length;
  }

  /** The groups of one shard that have indexed objects. */
  groupsOfShard(shard: number): Promise<string[]> {
    return this.redis.smembers(this.keys.objectGroups(shard));
  }

  /** Drops an identity's sent-set entries (after their objects were forgotten). */
  async forgetSender(identity: string, entries: readonly { groupId: string; objectId: string }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.redis.srem(this.keys.identityObjects(identity), ...entries.map((e) => `${e.groupId}/${e.objectId}`));
  }

  private async describe(groupId: string, batch: readonly [string, string][]): Promise<IndexedObject[]> {
    if (batch.length === 0) return [];
    const metas = await this.redis.hmget(this.keys.groupObjectMeta(groupId), ...batch.map(([id]) => id));
    return batch.map(([objectId, score], i) => {
      const meta = parseMeta(metas[i] ?? null);
      return { groupId, objectId, createdMs: Number(score), ...meta };
    });
  }
}

/** The S3 key of an indexed object. */
export const keyOf = (o: Pick<IndexedObject, 'groupId' | 'objectId'>): string => objectKeyOf(o.groupId, o.objectId);

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** A missing or unreadable meta (a crash between the two writes) reads as staged by nobody known. */
function parseMeta(raw: string | null): Meta {
  if (raw === null) return { sender: '', state: 'staged' };
  try {
    return JSON.parse(raw) as Meta;
  } catch {
    return { sender: '', state: 'staged' };
  }
}
