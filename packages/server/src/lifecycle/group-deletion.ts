import { ConduitError, syncMapOf, type ObjectStore, type SyncAdmin } from '@conduit/shared';
import type { Logger } from 'pino';
import { Cluster } from 'ioredis';
import { encodeEntry } from '../audit/audit-log.js';
import { newEntryId, pendingItem } from '../audit/pending.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { shardOf, SHARDS, type Keys } from '../adapters/redis/keys.js';
import { recordKeys } from '../adapters/redis/records.js';
import { FinishGroupDeletionReply, TombstoneGroupReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import type { QuotaRefunds } from '../limits/quota-refunds.js';
import type { LegalHolds } from './legal-holds.js';
import type { ObjectEraser } from './object-eraser.js';
import type { ObjectIndex } from './object-index.js';

export interface GroupDeletionDeps {
  redis: RedisClient;
  keys: Keys;
  store: ObjectStore;
  syncAdmin: Pick<SyncAdmin, 'removeMap'>;
  index: Pick<ObjectIndex, 'olderThan'>;
  eraser: Pick<ObjectEraser, 'erase'>;
  /** Gives the writers' shares of the feed back to their quotas. */
  refunds: Pick<QuotaRefunds, 'drain'>;
  holds: Pick<LegalHolds, 'assertNone' | 'covering'>;
  logger: Logger;
  /** Called after an audit entry was left pending on a shard (the worker's sealer kicks). */
  onAuditEnqueued?: (shard: number) => void;
}

/** What a finished deletion removed (the `group-deleted` audit entry). */
export interface GroupDeletionOutcome {
  groupId: string;
  by: string;
  members: string[];
  objects: number;
  bytes: number;
  records: number;
  outcome: { s3: 'deleted'; redis: 'deleted'; sync: 'removed' | 'absent' };
}

/** What run() found: finished now, held by a legal hold placed since (retried later), or nothing to do. */
export type GroupDeletionRun = 'deleted' | 'held' | 'not-deleting';

const BATCH = 400;

interface Tombstone {
  owner: string;
  by: string;
  reason: string;
  deletedAt: string;
}

/**
 * Deleting a group (docs/lifecycle.md#deleting-a-group-conduit-group-delete). `delete` tombstones
 * it (every group route answers 404 from then on, the id stays taken) and puts it on its shard's
 * durable to-do list; `run`, called by the worker's drainer, deletes everything of the group, each
 * step idempotent, so a run killed anywhere is finished by the next one; the last step writes the
 * one `group-deleted` audit entry together with the tombstone (finishGroupDeletion-3.lua).
 */
export class GroupDeletion {
  private readonly scripts;

  constructor(private readonly deps: GroupDeletionDeps) {
    this.scripts = defineScripts(deps.redis, 'tombstoneGroup', 'finishGroupDeletion', 'refundGroupEnvelopes');
  }

  /**
   * Starts deleting a ready group on behalf of `by` (the caller checked it may: the route, the
   * group's owner; identity deletion, the operator). LEGAL_HOLD (audited) when a hold covers the
   * group or one of its participants; GROUP_NOT_FOUND when it is not a ready group (already being
   * deleted included). Returns once the group is tombstoned; the worker does the rest.
   */
  async delete(groupId: string, by: string, reason?: string, now = new Date()): Promise<{ state: 'deleting' }> {
    const { redis, keys } = this.deps;
    const participants = await redis.smembers(keys.groupMembers(groupId));
    await this.deps.holds.assertNone(
      { groups: [groupId], identities: participants },
      { action: 'group-delete', by },
      now,
    );
    const code = await this.scripts.tombstoneGroup(
      [keys.group(groupId), keys.groupDeletions(shardOf(groupId))],
      [groupId, now.toISOString(), by, reason ?? '', now.getTime()],
    );
    if (code !== TombstoneGroupReply.Tombstoned) throw new ConduitError('GROUP_NOT_FOUND');
    return { state: 'deleting' };
  }

  /** Groups waiting to be deleted (every shard), oldest first per shard. */
  async due(limit = 100): Promise<string[]> {
    const { redis, keys } = this.deps;
    const perShard = await Promise.all(SHARDS.map((s) => redis.zrange(keys.groupDeletions(s), 0, limit - 1)));
    return perShard.flat();
  }

  /** Deletes everything of a tombstoned group, then finishes it with its audit entry. */
  async run(groupId: string): Promise<GroupDeletionRun> {
    const { redis, keys } = this.deps;
    const stone = await this.tombstone(groupId);
    if (!stone) {
      // Finished before (or never tombstoned): it only leaves the to-do list.
      const state = await redis.hget(keys.group(groupId), 'state');
      if (state !== 'deleting') await redis.zrem(keys.groupDeletions(shardOf(groupId)), groupId);
      return 'not-deleting';
    }
    // A hold placed after the tombstone: nothing more goes until it is released.
    if (await this.deps.holds.covering({ groups: [groupId] })) return 'held';
    const members = await this.snapshot(groupId);
    const sync = await this.deps.syncAdmin.removeMap(syncMapOf(groupId));
    const erased = await this.eraseObjects(groupId, stone.by);
    if (erased === 'held') return 'held';
    await this.deleteUnindexed(groupId);
    await this.dropPending(groupId);
    await this.dropIndexes(groupId, stone, members);
    const counters = await redis.hmget(keys.group(groupId), 'records');
    await this.refundEnvelopes(groupId);
    await this.deleteGroupKeys(groupId);
    const outcome: GroupDeletionOutcome = {
      groupId,
      by: stone.by,
      members,
      objects: erased.objects,
      bytes: erased.bytes,
      records: Number(counters[0] ?? 0),
      outcome: { s3: 'deleted', redis: 'deleted', sync },
    };
    await this.finish(groupId, outcome, stone);
    return 'deleted';
  }

  private async tombstone(groupId: string): Promise<Tombstone | null> {
    const [state, owner, by, reason, deletedAt] = await this.deps.redis.hmget(
      this.deps.keys.group(groupId),
      'state',
      'owner',
      'deletedBy',
      'deleteReason',
      'deletedAt',
    );
    if (state !== 'deleting' || !owner || !by || !deletedAt) return null;
    return { owner, by, reason: reason ?? '', deletedAt };
  }

  /** The participants and record count, kept in the tombstone on the first run (later runs find keys gone). */
  private async snapshot(groupId: string): Promise<string[]> {
    const { redis, keys } = this.deps;
    const group = keys.group(groupId);
    const kept = await redis.hget(group, 'participants');
    if (kept !== null) return JSON.parse(kept) as string[];
    const participants = (await redis.smembers(keys.groupMembers(groupId))).sort();
    const records = await redis.hlen(recordKeys(keys, groupId).heads);
    await redis
      .multi()
      .hsetnx(group, 'participants', JSON.stringify(participants))
      .hsetnx(group, 'records', String(records))
      .exec();
    return JSON.parse((await redis.hget(group, 'participants')) ?? '[]') as string[];
  }

  /** Every indexed object, through the eraser (its receipts); counted in the tombstone as it goes. */
  private async eraseObjects(groupId: string, by: string): Promise<{ objects: number; bytes: number } | 'held'> {
    const { redis, keys } = this.deps;
    for (;;) {
      const batch = await this.deps.index.olderThan(groupId, Infinity, BATCH);
      if (batch.length === 0) break;
      // Their pointers' ledger entries (any state) go first: found only through the index.
      for (const o of batch) if (o.pointerId) await this.dropPointer(groupId, o.pointerId);
      // Counted in the tombstone by the eraser's own script, with each batch's receipt.
      const cause = { kind: 'request', action: 'group-delete', by } as const;
      const result = await this.deps.eraser.erase(groupId, batch, cause, keys.group(groupId));
      if (result.held > 0) return 'held';
      if (result.failed.length > 0) throw new Error(`S3 refused ${result.failed.length} deletes; retried later`);
      // Nothing forgotten (another eraser took them): S3 deleted them anyway; the index keys go below.
      if (result.deleted === 0) break;
    }
    const [objects, bytes] = await redis.hmget(keys.group(groupId), 'objects', 'bytes');
    return { objects: Number(objects ?? 0), bytes: Number(bytes ?? 0) };
  }

  /** What the index never knew: objects stored before it existed, and the records' archived feed pages. */
  private async deleteUnindexed(groupId: string): Promise<void> {
    for (const prefix of [`objects/${groupId}/`, `feed/${groupId}/`]) {
      for await (const page of this.deps.store.listObjects(prefix)) {
        if (page.length === 0) continue;
        const { failed } = await this.deps.store.deleteObjects(page.map((o) => o.key));
        if (failed.length > 0) throw new Error(`S3 refused ${failed.length} deletes under ${prefix}; retried later`);
      }
    }
  }

  /** The group's pending pointers: their ledger entries, index entries and quota claims. */
  private async dropPending(groupId: string): Promise<void> {
    const { redis, keys } = this.deps;
    for (;;) {
      const ids = await redis.zrange(keys.groupPending(groupId), 0, BATCH - 1);
      if (ids.length === 0) return;
      for (const pointerId of ids) await this.dropPointer(groupId, pointerId);
    }
  }

  /** One pointer's ledger entries, its index entries and its sender's quota claim. */
  private async dropPointer(groupId: string, pointerId: string): Promise<void> {
    const { redis, keys } = this.deps;
    const shard = shardOf(groupId);
    const sender = await redis.hget(keys.pointer(groupId, pointerId), 'senderIdentity');
    await redis
      .multi()
      .del(
        keys.pointer(groupId, pointerId),
        keys.pointerExpected(groupId, pointerId),
        keys.pointerAcked(groupId, pointerId),
        keys.pointerDropped(groupId, pointerId),
        keys.pointerReceipts(groupId, pointerId),
        keys.pointerAnomalies(groupId, pointerId),
      )
      .zrem(keys.pendingPointers(shard), pointerId)
      .zrem(keys.purgingPointers(shard), pointerId)
      .zrem(keys.groupPending(groupId), pointerId)
      .exec();
    await redis.del(keys.pointerGroup(pointerId));
    if (sender) await redis.zrem(keys.quotaMembers(sender, 'pointers'), `${groupId}/${pointerId}`);
  }

  /** Entries naming the group in other keys: members' group indexes, the owner's quota claim, shard sets. */
  private async dropIndexes(groupId: string, stone: Tombstone, members: readonly string[]): Promise<void> {
    const { redis, keys } = this.deps;
    for (const identity of members) await redis.srem(keys.identityGroups(identity), groupId);
    await redis.zrem(keys.quotaMembers(stone.owner, 'groups'), groupId);
    await redis.srem(keys.readyGroups(), groupId);
    await redis.srem(keys.objectGroups(shardOf(groupId)), groupId);
    await redis.del(keys.syncBucket(syncMapOf(groupId)));
  }

  /** The writers' shares of the feed go back to their quotas, once (refundGroupEnvelopes-2.lua). */
  private async refundEnvelopes(groupId: string): Promise<void> {
    const { keys } = this.deps;
    const shard = shardOf(groupId);
    const writers = await this.scripts.refundGroupEnvelopes(
      [recordKeys(keys, groupId).envelopeBytes, keys.quotaRefunds(shard)],
      [newEntryId()],
    );
    // A crash before the drain leaves the item to the worker's sweep.
    if (writers > 0) await this.deps.refunds.drain(shard);
  }

  /** Every key under the group's own prefix (members, epoch, records, object index, retention...) but its hash. */
  private async deleteGroupKeys(groupId: string): Promise<void> {
    const { redis, keys } = this.deps;
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const node of nodes) {
      const stream = node.scanStream({ match: `${keys.group(groupId)}:*`, count: 500 });
      for await (const batch of stream as AsyncIterable<string[]>) {
        // One hash tag (the group's shard): one slot, one DEL.
        if (batch.length > 0) await redis.del(...batch);
      }
    }
  }

  private async finish(groupId: string, outcome: GroupDeletionOutcome, stone: Tombstone): Promise<void> {
    const { keys } = this.deps;
    const shard = shardOf(groupId);
    const entry = encodeEntry({
      type: 'group-deleted',
      at: new Date().toISOString(),
      groupId,
      by: outcome.by,
      ...(stone.reason ? { reason: stone.reason } : {}),
      requestedAt: stone.deletedAt,
      members: outcome.members,
      objects: outcome.objects,
      bytes: outcome.bytes,
      records: outcome.records,
      outcome: outcome.outcome,
    });
    const code = await this.scripts.finishGroupDeletion(
      [keys.group(groupId), keys.groupDeletions(shard), keys.auditPending(shard)],
      [groupId, pendingItem(newEntryId(), entry)],
    );
    if (code === FinishGroupDeletionReply.Finished) this.deps.onAuditEnqueued?.(shard);
  }
}
