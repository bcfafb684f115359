import { canonicalJson, parseEndpointKey, type AuditEntry, type AuditValue, type ObjectStore } from '@conduit/shared';
import { encodeEntry } from '../audit/audit-log.js';
import { newEntryId, pendingItem } from '../audit/pending.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { shardOf, type Keys } from '../adapters/redis/keys.js';
import { ForgetObjectsReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import { refundItem, type QuotaRefunds } from '../limits/quota-refunds.js';
import type { LegalHolds } from './legal-holds.js';
import { keyOf, type IndexedObject, type ObjectIndex } from './object-index.js';

/** Why objects are deleted: a retention rule, or a request by someone (recorded in the receipt). */
export type DeletionCause =
  | { kind: 'policy'; policy: string; rule: string }
  | { kind: 'request'; action: 'rm' | 'group-delete' | 'identity-delete'; by: string; reason?: string };

export interface ErasureOutcome {
  /** Objects deleted from S3 and forgotten, with their receipts pending. */
  deleted: number;
  bytes: number;
  /** Objects a legal hold kept (left untouched). */
  held: number;
  /** Objects S3 refused to delete (left indexed for the next run), with S3's code. */
  failed: { key: string; code: string }[];
}

/** At most this many objects per DeleteObjects request and receipt: a receipt stays far under 64 KiB. */
export const ERASE_BATCH = 400;

/**
 * The one way Conduit deletes stored objects (retention and every erasure): per batch of one
 * group's objects, skip what a legal hold covers, delete the rest from S3 with DeleteObjects, then
 * forget them in the object index together with one `objects-deleted` audit entry naming each key
 * and size, and the refund of the bytes their uploaders' quotas counted (forgetObjects-6.lua).
 * Idempotent: S3 deletes are, and a batch already forgotten writes no second receipt or refund, so
 * a run killed anywhere is finished by the next one.
 */
export class ObjectEraser {
  private readonly scripts;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      keys: Keys;
      store: ObjectStore;
      index: ObjectIndex;
      holds: LegalHolds;
      /** Gives the batch's counted bytes back right after it is forgotten (the sweep drains what a crash left). */
      refunds: Pick<QuotaRefunds, 'drain'>;
      /** Called after receipts were left pending on a shard (the worker's sealer kicks). */
      onAuditEnqueued?: (shard: number) => void;
    },
  ) {
    this.scripts = defineScripts(deps.redis, 'forgetObjects');
  }

  /**
   * Erases one group's objects (any number; batched), as listed by the caller from the index.
   * `tally`: a hash in the group's slot whose `objects` and `bytes` count each batch in the same
   * step as its receipt (a total that survives a crash exactly).
   */
  async erase(
    groupId: string,
    objects: readonly IndexedObject[],
    cause: DeletionCause,
    tally?: string,
  ): Promise<ErasureOutcome> {
    const outcome: ErasureOutcome = { deleted: 0, bytes: 0, held: 0, failed: [] };
    for (let i = 0; i < objects.length; i += ERASE_BATCH) {
      const batch = await this.unheld(groupId, objects.slice(i, i + ERASE_BATCH));
      outcome.held += Math.min(ERASE_BATCH, objects.length - i) - batch.length;
      if (batch.length === 0) continue;
      const { failed } = await this.deps.store.deleteObjects(batch.map(keyOf));
      const refused = new Set(failed.map((f) => f.key));
      const gone = batch.filter((o) => !refused.has(keyOf(o)));
      outcome.failed.push(...failed);
      if (gone.length === 0) continue;
      const forgotten = await this.forget(groupId, gone, cause, failed, tally);
      outcome.deleted += forgotten.length;
      outcome.bytes += forgotten.reduce((sum, o) => sum + (o.size ?? 0), 0);
    }
    return outcome;
  }

  /** Objects of the batch no hold covers (the group's, or each uploader's). */
  private async unheld(groupId: string, batch: readonly IndexedObject[]): Promise<IndexedObject[]> {
    if (await this.deps.holds.covering({ groups: [groupId] })) return [];
    const senders = [...new Set(batch.map((o) => o.sender).filter((s) => s !== ''))];
    const heldSenders = new Set<string>();
    for (const sender of senders) {
      if (await this.deps.holds.covering({ identities: [parseEndpointKey(sender).identity] })) heldSenders.add(sender);
    }
    return batch.filter((o) => !heldSenders.has(o.sender));
  }

  /** Forgets the batch with its receipt; a batch partly forgotten by another eraser is re-read. */
  private async forget(
    groupId: string,
    gone: IndexedObject[],
    cause: DeletionCause,
    failed: { key: string; code: string }[],
    tally: string | undefined,
  ): Promise<IndexedObject[]> {
    const { keys, redis } = this.deps;
    const shard = shardOf(groupId);
    let batch = gone;
    for (let attempt = 0; attempt < 3 && batch.length > 0; attempt += 1) {
      const receipt = objectsDeleted(groupId, batch, cause, failed, new Date());
      const bytes = batch.reduce((sum, o) => sum + (o.size ?? 0), 0);
      // From the index, not the caller's copy (records retention passes its own): what the quota
      // counted, which never changes once the object is bound.
      const refund = refundItem(
        newEntryId(),
        await this.deps.index.counts(
          groupId,
          batch.map((o) => o.objectId),
        ),
      );
      const code = await this.scripts.forgetObjects(
        [
          keys.groupObjects(groupId),
          keys.groupObjectMeta(groupId),
          keys.auditPending(shard),
          keys.objectGroups(shard),
          tally ?? keys.groupObjects(groupId),
          keys.quotaRefunds(shard),
        ],
        [
          groupId,
          pendingItem(newEntryId(), receipt),
          bytes,
          tally ? '1' : '0',
          refund,
          ...batch.map((o) => o.objectId),
        ],
      );
      if (code === ForgetObjectsReply.NoneIndexed) return [];
      if (code > 0) {
        this.deps.onAuditEnqueued?.(shard);
        if (refund !== '') await this.deps.refunds.drain(shard);
        await this.forgetSenders(batch);
        return batch;
      }
      // Another eraser took some: keep those still indexed and write their receipt.
      const scores = await redis.zmscore(keys.groupObjects(groupId), ...batch.map((o) => o.objectId));
      batch = batch.filter((_, i) => scores[i] !== null);
    }
    return [];
  }

  private async forgetSenders(batch: readonly IndexedObject[]): Promise<void> {
    const bySender = new Map<string, IndexedObject[]>();
    for (const o of batch) {
      if (o.sender === '') continue;
      const identity = parseEndpointKey(o.sender).identity;
      bySender.set(identity, [...(bySender.get(identity) ?? []), o]);
    }
    for (const [identity, objects] of bySender) await this.deps.index.forgetSender(identity, objects);
  }
}

/** The deletion receipt of one batch: keys and sizes, the cause, and the outcome per store. */
export function objectsDeleted(
  groupId: string,
  batch: readonly IndexedObject[],
  cause: DeletionCause,
  failed: readonly { key: string; code: string }[],
  at: Date,
): string {
  const entry: AuditEntry = {
    type: 'objects-deleted',
    at: at.toISOString(),
    groupId,
    cause: JSON.parse(canonicalJson(cause as unknown as AuditValue)) as AuditValue,
    count: batch.length,
    bytes: batch.reduce((sum, o) => sum + (o.size ?? 0), 0),
    objects: batch.map((o) => ({ key: keyOf(o), ...(o.size === undefined ? {} : { size: o.size }) })),
    outcome: {
      s3: 'deleted',
      index: 'forgotten',
      ...(failed.length > 0 ? { s3Refused: failed.map((f) => ({ key: f.key, code: f.code })) } : {}),
    },
  };
  return encodeEntry(entry);
}
