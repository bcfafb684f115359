import type { RedisClient } from './connection.js';
import type { Endpoint } from '@conduit/shared';
import { endpointKey, MAX_POINTER_BYTES } from '@conduit/shared';
import { newEntryId, pendingItem } from '../../audit/pending.js';
import { shardOf, SHARDS, type Keys } from './keys.js';
import { pointerScriptKeys, pointerTerminalKeys } from './pointer-keys.js';
import {
  pointerRecordOf,
  receiptInputsOf,
  stateName,
  type PointerBinding,
  type PointerRecord,
  type PointerStateName,
  type ReceiptInputs,
} from './pointer-record.js';
import {
  AckAdded,
  AckReply,
  DropEndpointsPurging,
  ExpirePointerReply,
  KeepItemReply,
  MarkFailedReply,
  MarkPurgedReply,
  RegisterPointerReply,
  WithdrawPointerReply,
} from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

export type {
  PointerBinding,
  PointerRecord,
  PointerStateName,
  PurgeReason,
  Receipt,
  ReceiptInputs,
} from './pointer-record.js';

export type AckResult =
  | { ok: true; remaining: number; firstAck: boolean }
  | { ok: false; reason: 'POINTER_NOT_FOUND' | 'NOT_A_RECIPIENT' | 'POINTER_MISMATCH' | 'FILE_WITHDRAWN' };

export type WithdrawResult = 'withdrawn' | 'already' | 'missing' | 'acks-changed';

export type MarkPurgedResult =
  { ok: true; latencyMs: number } | { ok: false; reason: 'missing' | 'already' | 'not-purging' };

/**
 * The acknowledgement ledger. Each pointer's records expire `retentionSeconds` after registration
 * (longer than the Sync item TTL), so the ledger stays bounded even if a recipient never acks.
 */
export class PointerLedger {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** Called after a transition left an audit entry pending on a shard (workers kick their AuditSealer). */
    private readonly onAuditEnqueued: (shard: number) => void = () => undefined,
  ) {
    this.scripts = defineScripts(
      redis,
      'registerPointer',
      'ack',
      'dropEndpoints',
      'expirePointer',
      'markPurged',
      'markFailed',
      'keepItem',
      'receiptInputs',
      'withdrawPointer',
    );
  }

  /**
   * Tells a waiting outbox relay that an id is in an outbox (a hint: relays also look every second).
   * One token at most waits, so nothing grows while no relay runs.
   */
  private async wakeRelay(): Promise<void> {
    const wake = this.keys.outboxWake();
    await this.redis.multi().lpush(wake, '1').ltrim(wake, 0, 0).exec();
  }

  /** The group's membership epoch: read it before computing a pointer's expected endpoints. */
  async epochOf(groupId: string): Promise<string> {
    return (await this.redis.get(this.keys.groupEpoch(groupId))) ?? '0';
  }

  /**
   * 'created'; 'exists' when the id is taken; 'stale' when a member or device was removed since
   * `epoch` was read (the expected set may name it: recompute and retry).
   */
  async register(input: {
    pointerId: string;
    groupId: string;
    sender: Endpoint;
    expected: readonly Endpoint[];
    createdAt: Date;
    retentionSeconds: number;
    epoch: string;
    binding: PointerBinding;
  }): Promise<'created' | 'exists' | 'stale'> {
    // The id -> group entry comes first (it lives in another slot): a registration that dies after
    // it leaves an entry naming the group, which the sender's retry reuses and which expires.
    const lookup = this.keys.pointerGroup(input.pointerId);
    const claimed = await this.redis.set(lookup, input.groupId, 'EX', input.retentionSeconds, 'NX');
    if (claimed === null && (await this.redis.get(lookup)) !== input.groupId) return 'exists';
    const code = await this.scripts.registerPointer(
      [...pointerScriptKeys(this.keys, input.pointerId, input.groupId), this.keys.groupEpoch(input.groupId)],
      [
        input.pointerId,
        input.groupId,
        input.sender.identity,
        input.sender.deviceId,
        input.createdAt.toISOString(),
        input.retentionSeconds,
        input.epoch,
        input.binding.objectId ?? '',
        input.binding.envelopeSha256,
        ...input.expected.map(endpointKey),
      ],
    );
    if (code === RegisterPointerReply.Created) {
      if (input.expected.length === 0) await this.wakeRelay(); // straight to 'purging'
      return 'created';
    }
    return code === RegisterPointerReply.IdTaken ? 'exists' : 'stale';
  }

  /**
   * Records one endpoint's signed receipt, if `claim` names the object and envelope the pointer is
   * bound to (POINTER_MISMATCH otherwise, and nothing changes). The first receipt of an endpoint
   * is kept; a repeated ack changes nothing.
   */
  async acknowledge(
    pointerId: string,
    endpoint: Endpoint,
    claim: PointerBinding & { signature: string },
    at = new Date(),
  ): Promise<AckResult> {
    const groupId = await this.groupOf(pointerId);
    if (groupId === null) return { ok: false, reason: 'POINTER_NOT_FOUND' };
    const [code, added] = await this.scripts.ack(
      [...pointerScriptKeys(this.keys, pointerId, groupId), this.keys.pointerReceipts(groupId, pointerId)],
      [
        endpointKey(endpoint),
        pointerId,
        groupId,
        claim.objectId ?? '',
        claim.envelopeSha256,
        `${at.toISOString()} ${claim.signature}`,
      ],
    );
    if (code === AckReply.UnknownPointer || code === undefined) return { ok: false, reason: 'POINTER_NOT_FOUND' };
    if (code === AckReply.NotARecipient) return { ok: false, reason: 'NOT_A_RECIPIENT' };
    if (code === AckReply.Mismatch) return { ok: false, reason: 'POINTER_MISMATCH' };
    if (code === AckReply.Withdrawn) return { ok: false, reason: 'FILE_WITHDRAWN' };
    const firstAck = added === AckAdded.First;
    if (code === 0 && firstAck) await this.wakeRelay(); // this ack moved it to 'purging'
    return { ok: true, remaining: code, firstAck };
  }

  /** Drops the endpoints' pending acknowledgements from one pointer of the group. */
  async dropEndpoints(
    pointerId: string,
    groupId: string,
    endpoints: readonly Endpoint[],
    reason: 'member-removed' | 'device-removed',
  ): Promise<{ dropped: number; purging: boolean }> {
    if (endpoints.length === 0) return { dropped: 0, purging: false };
    const [dropped, purging] = await this.scripts.dropEndpoints(pointerScriptKeys(this.keys, pointerId, groupId), [
      pointerId,
      reason,
      ...endpoints.map(endpointKey),
    ]);
    if (purging === DropEndpointsPurging.Yes) await this.wakeRelay();
    return { dropped, purging: purging === DropEndpointsPurging.Yes };
  }

  /** Walks the group's pending pointers (ZSCAN: entries removed meanwhile are tolerated). */
  async *pendingInGroup(groupId: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.keys.groupPending(groupId), cursor, 'COUNT', 500);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /** Pending pointers registered before `cutoff`, oldest first within each shard, at most `limit`. */
  async pendingBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.acrossShards((shard) => this.keys.pendingPointers(shard), cutoff, limit);
  }

  /** Pointers that entered 'purging' before `cutoff`, oldest first within each shard, at most `limit`. */
  async purgingBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.acrossShards((shard) => this.keys.purgingPointers(shard), cutoff, limit);
  }

  private async acrossShards(index: (shard: number) => string, cutoff: Date, limit: number): Promise<string[]> {
    const perShard = await Promise.all(
      SHARDS.map((shard) => this.redis.zrangebyscore(index(shard), '-inf', `(${cutoff.getTime()}`, 'LIMIT', 0, limit)),
    );
    return perShard.flat().slice(0, limit);
  }

  /** Forces a still-pending pointer to purge as 'expired'; false if it was no longer pending. */
  async expire(pointerId: string): Promise<boolean> {
    const groupId = await this.groupOf(pointerId);
    if (groupId === null) {
      // Its entries expired together; only an index entry can be left, in a shard unknown now.
      await Promise.all(SHARDS.map((shard) => this.redis.zrem(this.keys.pendingPointers(shard), pointerId)));
      return false;
    }
    const code = await this.scripts.expirePointer(pointerScriptKeys(this.keys, pointerId, groupId), [pointerId]);
    if (code !== ExpirePointerReply.Purging) return false;
    await this.wakeRelay();
    return true;
  }

  /**
   * Terminal transition plus its deletion receipt (`receipt` = canonical audit entry body), which
   * is left pending for the audit sealer in the same atomic step.
   */
  async markPurged(pointerId: string, groupId: string, at: Date, receipt: string): Promise<MarkPurgedResult> {
    const [code, latency] = await this.scripts.markPurged(pointerTerminalKeys(this.keys, pointerId, groupId), [
      pointerId,
      at.toISOString(),
      pendingItem(newEntryId(), receipt),
    ]);
    if (code === MarkPurgedReply.Marked) {
      this.onAuditEnqueued(shardOf(groupId));
      return { ok: true, latencyMs: Math.max(0, latency ?? 0) };
    }
    if (code === MarkPurgedReply.Missing) return { ok: false, reason: 'missing' };
    return { ok: false, reason: code === MarkPurgedReply.Already ? 'already' : 'not-purging' };
  }

  /** 'purging' -> 'failed' with its audit entry; false when the pointer was not purging. */
  async markFailed(pointerId: string, groupId: string, at: Date, entry: string): Promise<boolean> {
    const item = pendingItem(newEntryId(), entry);
    const keys = pointerTerminalKeys(this.keys, pointerId, groupId);
    const code = await this.scripts.markFailed(keys, [pointerId, at.toISOString(), item]);
    if (code !== MarkFailedReply.Marked) return false;
    this.onAuditEnqueued(shardOf(groupId));
    return true;
  }

  /**
   * Any state -> 'withdrawn' with its audit entry (`entry`, built from `ackedCount` acknowledgements
   * the caller read), exactly once; 'acks-changed' when an ack landed since (re-read and retry).
   */
  async withdraw(
    pointer: { pointerId: string; groupId: string },
    by: string,
    at: Date,
    ackedCount: number,
    entry: string,
  ): Promise<WithdrawResult> {
    const { pointerId, groupId } = pointer;
    const k = this.keys;
    const shard = shardOf(groupId);
    const code = await this.scripts.withdrawPointer(
      [
        k.pointer(groupId, pointerId),
        k.pointerAcked(groupId, pointerId),
        k.pendingPointers(shard),
        k.groupPending(groupId),
        k.purgingPointers(shard),
        k.outbox(shard),
        k.auditPending(shard),
      ],
      [pointerId, groupId, at.toISOString(), by, ackedCount, pendingItem(newEntryId(), entry)],
    );
    if (code === WithdrawPointerReply.Withdrawn) {
      this.onAuditEnqueued(shard);
      await this.wakeRelay();
      return 'withdrawn';
    }
    if (code === WithdrawPointerReply.Already) return 'already';
    return code === WithdrawPointerReply.Missing ? 'missing' : 'acks-changed';
  }

  /**
   * Keeps the Sync item JSON the server publishes (at most MAX_POINTER_BYTES, serializePointer's
   * bound) with the pending pointer, so it can be re-published if Sync loses it. False when the
   * pointer is no longer pending.
   */
  async keepPublished(pointerId: string, groupId: string, itemJson: string): Promise<boolean> {
    if (Buffer.byteLength(itemJson) > MAX_POINTER_BYTES) throw new Error('pointer item too large to keep');
    const code = await this.scripts.keepItem([this.keys.pointer(groupId, pointerId)], [itemJson]);
    return code === KeepItemReply.Kept;
  }

  /** What re-publishing needs: null when the entry is gone or no item was kept. */
  async published(
    pointerId: string,
  ): Promise<{ groupId: string; state: PointerStateName | null; createdAt: string; itemJson: string } | null> {
    const group = await this.groupOf(pointerId);
    if (group === null) return null;
    const [groupId, state, createdAt, itemJson] = await this.redis.hmget(
      this.keys.pointer(group, pointerId),
      'groupId',
      'state',
      'createdAt',
      'item',
    );
    if (!groupId || !createdAt || !itemJson) return null;
    return {
      groupId,
      state: stateName(state),
      createdAt,
      itemJson,
    };
  }

  /** The group the pointer was registered in (null once its ledger entry expired). */
  async groupOf(pointerId: string): Promise<string | null> {
    return this.redis.get(this.keys.pointerGroup(pointerId));
  }

  /** groupOf for many pointers (the outbox relay's batches). */
  async groupsOf(pointerIds: readonly string[]): Promise<(string | null)[]> {
    if (pointerIds.length === 0) return [];
    // Each id's entry is in its own slot: one GET each, which ioredis pipelines per node.
    return Promise.all(pointerIds.map((id) => this.groupOf(id)));
  }

  /** `groupId` when the caller knows it saves the lookup. */
  async stateOf(pointerId: string, groupId?: string): Promise<PointerStateName | null> {
    const group = groupId ?? (await this.groupOf(pointerId));
    if (group === null) return null;
    const state = await this.redis.hget(this.keys.pointer(group, pointerId), 'state');
    return stateName(state);
  }

  /**
   * When the pointer left 'pending' (ms, Redis clock: `purgingAt`, else `purgedAt`/`failedAt`),
   * 'pending' while it has not, null once its entry expired (retention's delivered+grace rule).
   */
  async leftPendingAt(pointerId: string, groupId: string): Promise<number | 'pending' | null> {
    const [state, purgingAt, purgedAt, failedAt] = await this.redis.hmget(
      this.keys.pointer(groupId, pointerId),
      'state',
      'purgingAt',
      'purgedAt',
      'failedAt',
    );
    const name = stateName(state);
    if (name === null) return null;
    if (name === 'pending') return 'pending';
    if (purgingAt) return Number(purgingAt);
    const at = Date.parse(purgedAt ?? failedAt ?? '');
    // Left pending at an unknown time: as if just now, so the grace starts counting from here.
    return Number.isFinite(at) ? at : Date.now();
  }

  /**
   * What the pointer's deletion receipt names, in one script call (no receipts, signatures or
   * binding, as `get` reads); null when the entry is gone.
   */
  async receiptInputs(pointerId: string, groupId: string): Promise<ReceiptInputs | null> {
    const k = this.keys;
    const reply = await this.scripts.receiptInputs(
      [
        k.pointer(groupId, pointerId),
        k.pointerExpected(groupId, pointerId),
        k.pointerAcked(groupId, pointerId),
        k.pointerDropped(groupId, pointerId),
      ],
      [],
    );
    return receiptInputsOf(pointerId, groupId, reply);
  }

  /** `groupId` when the caller knows it saves the lookup; a pointer of another group reads as absent. */
  async get(pointerId: string, knownGroup?: string): Promise<PointerRecord | null> {
    const group = knownGroup ?? (await this.groupOf(pointerId));
    if (group === null) return null;
    const k = this.keys;
    const results = (await this.redis
      .multi()
      .hgetall(k.pointer(group, pointerId))
      .smembers(k.pointerExpected(group, pointerId))
      .smembers(k.pointerAcked(group, pointerId))
      .smembers(k.pointerDropped(group, pointerId))
      .hgetall(k.pointerReceipts(group, pointerId))
      .exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    return pointerRecordOf(pointerId, results.map(([, value]) => value) as Parameters<typeof pointerRecordOf>[1]);
  }
}
