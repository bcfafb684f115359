import { RecordVersion } from '@conduit/shared';
import type { RedisClient } from './connection.js';
import { shardOf, type Keys } from './keys.js';
import { recordKeys } from './records.js';
import { CommitRecordsRetentionReply, ExpireRecordVersionsReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';
import { refundItem } from '../../limits/quota-refunds.js';
import { pageStateField, parsePageState, type PageState } from '../../records/archive/feed-pages.js';

/** One expired version as a receipt names it. */
export interface ExpiredVersion {
  recordId: string;
  versionId: string;
  seq: number;
}

/** A batch removed from Redis whose S3 deletions and receipt are still owed (JSON in Redis). */
export interface RetentionIntent {
  id: string;
  rule: string;
  versions: ExpiredVersion[];
  /** Value objects of the versions: erased through the ObjectEraser. */
  objects: { objectId: string; sender: string; pointerId: string; size: number; createdMs: number }[];
  /** The archived page's new object ('' when none: every version of it expired). */
  pageWritten?: string;
  /** Page objects to delete (the generation the batch replaced). */
  trash: string[];
  /** The versions' envelope characters per writer: given back to their quotas at the commit. */
  envelopes?: [identity: string, characters: number][];
}

export type ExpireOutcome = number | 'moved' | 'changed' | 'intent-pending';

/**
 * The Redis side of records retention (lifecycle/records-retention.ts): reads of a group's feed
 * state, the batch script that removes expired versions with the batch's intent
 * (expireRecordVersions-7.lua), history pruning, and the commit of the batch's receipt.
 */
export class RecordsRetentionStore {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'expireRecordVersions', 'commitRecordsRetention', 'pruneRecordHistory');
  }

  /** The group's own records rule text, if it set one. */
  /** The archive watermark (0: nothing archived) and every record's head version id. */
  async snapshot(groupId: string): Promise<{ through: number; heads: Map<string, string> }> {
    const k = recordKeys(this.keys, groupId);
    const [through, heads] = await Promise.all([this.redis.hget(k.archive, 'through'), this.redis.hgetall(k.heads)]);
    return { through: Number(through ?? 0), heads: new Map(Object.entries(heads)) };
  }

  /** The raw state of an archived page ('' when absent: generation 0, full) and its parsed form. */
  async pageState(groupId: string, first: number): Promise<{ raw: string; state: PageState }> {
    const raw = (await this.redis.hget(recordKeys(this.keys, groupId).archive, pageStateField(first))) ?? '';
    return { raw, state: parsePageState(raw) };
  }

  /** Versions of the Redis feed with seq > afterSeq, oldest first, at most `limit`. */
  async tail(groupId: string, afterSeq: number, limit: number): Promise<RecordVersion[]> {
    const found = await this.redis.zrangebyscore(
      recordKeys(this.keys, groupId).feed,
      `(${afterSeq}`,
      '+inf',
      'LIMIT',
      0,
      limit,
    );
    return found.map((json) => RecordVersion.parse(JSON.parse(json)));
  }

  /** Phase 1 of a batch (see the script): removes the versions and leaves the intent. */
  async expire(
    groupId: string,
    through: number,
    page: { first: number; raw: string; next: PageState } | null,
    intent: RetentionIntent,
  ): Promise<ExpireOutcome> {
    const k = recordKeys(this.keys, groupId);
    const n = await this.scripts.expireRecordVersions(
      [k.feed, k.heads, k.versions, k.pointers, k.archive, k.historyDirty, k.retentionIntent],
      [
        through,
        page ? page.first : '',
        page?.raw ?? '',
        page ? `${page.next.gen} ${page.next.count}` : '',
        JSON.stringify(intent),
        ...intent.versions.flatMap((v) => [v.seq, v.versionId, v.recordId]),
      ],
    );
    if (n === ExpireRecordVersionsReply.Moved) return 'moved';
    if (n === ExpireRecordVersionsReply.Changed) return 'changed';
    if (n === ExpireRecordVersionsReply.IntentPending) return 'intent-pending';
    if (n === ExpireRecordVersionsReply.LiveHead) throw new Error('Records retention named a live head.');
    return n;
  }

  /** The batch whose S3 deletions and receipt are still owed, if any. */
  async pendingIntent(groupId: string): Promise<RetentionIntent | null> {
    const raw = await this.redis.get(recordKeys(this.keys, groupId).retentionIntent);
    return raw ? (JSON.parse(raw) as RetentionIntent) : null;
  }

  /** Prunes the history lists of every record a batch touched. */
  async pruneHistories(groupId: string): Promise<void> {
    const k = recordKeys(this.keys, groupId);
    for (const recordId of await this.redis.smembers(k.historyDirty)) {
      await this.scripts.pruneRecordHistory([k.feed, k.heads, k.history(recordId), k.historyDirty], [recordId]);
    }
  }

  /**
   * Leaves the receipt pending, puts the refund of the intent's envelopes on the quota refund
   * outbox and clears the intent; false when it was already committed.
   */
  async commit(groupId: string, intent: RetentionIntent, pendingItem: string): Promise<boolean> {
    const k = recordKeys(this.keys, groupId);
    const shard = shardOf(groupId);
    const refund = refundItem(
      intent.id,
      (intent.envelopes ?? []).map(([uploader, bytes]) => ({ uploader, bytes })),
    );
    const code = await this.scripts.commitRecordsRetention(
      [k.retentionIntent, this.keys.auditPending(shard), k.envelopeBytes, this.keys.quotaRefunds(shard)],
      [intent.id, pendingItem, refund],
    );
    return code === CommitRecordsRetentionReply.Committed;
  }

  /** Every ready group (the groups that can hold records), in batches. */
  async *groups(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(this.keys.readyGroups(), cursor, 'COUNT', 500);
      if (batch.length > 0) yield batch;
      cursor = next;
    } while (cursor !== '0');
  }
}
