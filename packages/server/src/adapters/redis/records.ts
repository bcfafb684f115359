import { createHash } from 'node:crypto';
import { RecordVersion, type Endpoint } from '@conduit/shared';
import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { AppendRecordVersionReply, FeedNotifyGateReply } from '../../redis/script-replies.js';
import { defineScriptBatch, defineScripts, type ScriptCall } from '../../redis/script-loader.js';
import { pageOf, pageStateField, parsePageState, type PageState } from '../../records/archive/feed-pages.js';

/** A record's history index keeps its newest versions only; the feed keeps every version. */
export const MAX_RECORD_HISTORY = 1000;

/** The fields of a version the writer chooses (seq and createdAt are the server's). */
export interface VersionInput {
  recordId: string;
  versionId: string;
  parentVersionId: string | null;
  pointerId: string;
  objectId: string | null;
  size: number;
  deleted: boolean;
  envelope: string;
  sender: Endpoint;
}

/** What the feed notifier's gate decided (feedNotifyGate-3.lua). */
export type NotifyGate = { kind: 'write'; seq: number } | { kind: 'held'; retryInMs: number } | { kind: 'covered' };

export type AppendResult =
  | { kind: 'created' | 'existing'; version: RecordVersion }
  | { kind: 'conflict'; head: RecordVersion | null }
  | { kind: 'pointer-taken' };

/**
 * Per-group keys (under the deployment prefix; ids never contain ':'). Every key of a group's
 * records is built here, so they share one base.
 * feed: sorted set, score = seq, member = the version's JSON (ciphertext envelope and ids only).
 * seq: the feed's counter. heads: hash recordId -> head versionId. versions: hash versionId ->
 * "<seq> <fingerprint>". pointers: hash pointerId -> versionId. history: list of a record's seqs.
 * notifyLock / notifyPending: the feed notifier's coalescing (records/feed-notifier.ts).
 * archive: how far the feed was moved to S3 pages (records/archive/).
 */
export const recordKeys = (keys: Keys, groupId: string) => {
  const base = keys.groupRecords(groupId);
  return {
    feed: `${base}:feed`,
    seq: `${base}:seq`,
    heads: `${base}:heads`,
    versions: `${base}:versions`,
    pointers: `${base}:pointers`,
    history: (recordId: string) => `${base}:hist:${recordId}`,
    notifyLock: `${base}:notify:lock`,
    notifyPending: `${base}:notify:pending`,
    /** Hash {through, p:<first>}: the last seq moved to S3 pages, and pages retention rewrote (records/archive/). */
    archive: `${base}:archive`,
    /** Set of record ids whose history list records retention has yet to prune (lifecycle/records-retention.ts). */
    historyDirty: `${base}:hist-dirty`,
    /** String: the retention batch whose S3 deletions and receipt are still owed (JSON). */
    retentionIntent: `${base}:retention`,
    /**
     * Hash identity -> envelope characters: each writer's share of the feed, as its stored-bytes
     * quota counted it; given back when retention or a group deletion drops the versions.
     */
    envelopeBytes: `${base}:env-bytes`,
  };
};

/** Binds a retried request to the version it created: same writer, same content. */
function fingerprint(v: VersionInput): string {
  const fields = [
    v.recordId,
    v.parentVersionId,
    v.pointerId,
    v.objectId,
    v.size,
    v.deleted,
    v.envelope,
    v.sender.identity,
    v.sender.deviceId,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/** Stored JSON is the server's own; parsing it again guards against a corrupted or foreign entry. */
const parseVersion = (json: string): RecordVersion => RecordVersion.parse(JSON.parse(json));

/**
 * Records sync storage: each group's durable feed of record versions (ciphertext envelopes and
 * ids only), each record's head and a bounded history. Optimistic concurrency lives in one Lua
 * script (appendRecordVersion-7.lua), so the parent check, the seq and every index move together:
 * one version per parent wins, and the feed never shows a seq whose version is not complete.
 */
export class RecordStore {
  private readonly scripts;
  private readonly appendBatch;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'recordHead', 'recordHistory', 'feedNotifyGate');
    this.appendBatch = defineScriptBatch(redis, 'appendRecordVersion');
  }

  /** Appends a version if its parent is the record's head (null parent: the record must not exist). */
  async append(groupId: string, input: VersionInput, createdAt: Date): Promise<AppendResult> {
    const [result] = await this.appendMany(groupId, [input], createdAt);
    return result!;
  }

  /**
   * Appends versions in order in one round trip (a pipeline of the per-version script): each is
   * checked and applied on its own, exactly as by `append`, so a later one may build on an
   * earlier one. Results in input order.
   */
  async appendMany(groupId: string, inputs: readonly VersionInput[], createdAt: Date): Promise<AppendResult[]> {
    const k = recordKeys(this.keys, groupId);
    const at = createdAt.toISOString();
    const calls: ScriptCall[] = inputs.map((input) => ({
      keys: [k.feed, k.heads, k.versions, k.seq, k.pointers, k.history(input.recordId), k.envelopeBytes],
      // Everything but seq, which the script assigns.
      args: [
        input.recordId,
        input.versionId,
        input.parentVersionId ?? '',
        input.pointerId,
        fingerprint(input),
        JSON.stringify({ ...input, createdAt: at }),
        MAX_RECORD_HISTORY,
        input.sender.identity,
        input.envelope.length,
      ],
    }));
    return (await this.appendBatch(calls)).map(([code, json]): AppendResult => {
      if (code === AppendRecordVersionReply.PointerTaken) return { kind: 'pointer-taken' };
      if (code === AppendRecordVersionReply.Conflict)
        return { kind: 'conflict', head: json ? parseVersion(json) : null };
      if (!json) throw new Error('Record version vanished from the feed.');
      return { kind: code === AppendRecordVersionReply.Created ? 'created' : 'existing', version: parseVersion(json) };
    });
  }

  /**
   * The feed notifier's per-group gate, shared by every process: write now (with the feed's last
   * seq), or the lock is held (a write is now pending), or a trailing write is already covered.
   */
  async notifyGate(
    groupId: string,
    mode: 'notify' | 'trailing',
    intervalMs: number,
    pendingTtlMs: number,
  ): Promise<NotifyGate> {
    const k = recordKeys(this.keys, groupId);
    const [code, value] = await this.scripts.feedNotifyGate(
      [k.notifyLock, k.notifyPending, k.seq],
      [intervalMs, mode, pendingTtlMs],
    );
    if (code === FeedNotifyGateReply.WriteNow) return { kind: 'write', seq: value ?? 0 };
    if (code === FeedNotifyGateReply.Held) return { kind: 'held', retryInMs: value ?? intervalMs };
    return { kind: 'covered' };
  }

  async head(groupId: string, recordId: string): Promise<RecordVersion | null> {
    const k = recordKeys(this.keys, groupId);
    const json = await this.scripts.recordHead([k.feed, k.heads, k.versions], [recordId]);
    return json ? parseVersion(json) : null;
  }

  /** The newest MAX_RECORD_HISTORY versions, oldest first. */
  async history(groupId: string, recordId: string): Promise<RecordVersion[]> {
    const k = recordKeys(this.keys, groupId);
    return (await this.scripts.recordHistory([k.feed, k.history(recordId)], [])).map(parseVersion);
  }

  /**
   * Versions with seq > afterSeq, oldest first, at most `limit` and stopping before the one that
   * would take the page's stored JSON past `maxBytes` (one version always fits); `more` when the
   * feed goes on after them.
   */
  async feed(
    groupId: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ versions: RecordVersion[]; more: boolean; archived?: PageState }> {
    const k = recordKeys(this.keys, groupId);
    // One transaction: a compaction between the reads could otherwise hide a whole page.
    const [through, state, found] = (await this.redis
      .multi()
      .hget(k.archive, 'through')
      .hget(k.archive, pageStateField(pageOf(afterSeq + 1).first))
      .zrangebyscore(k.feed, `(${afterSeq}`, '+inf', 'LIMIT', 0, limit + 1)
      .exec())!.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [string | null, string | null, string[]];
    // Up to the watermark only heads stay in Redis: that range is read from S3 (records/archive/),
    // from the page generation the archive index names.
    if (afterSeq < Number(through ?? 0)) return { versions: [], more: true, archived: parsePageState(state) };
    let bytes = 0;
    let taken = 0;
    for (const json of found.slice(0, limit)) {
      bytes += json.length;
      if (taken > 0 && bytes > maxBytes) break;
      taken += 1;
    }
    return { versions: found.slice(0, taken).map(parseVersion), more: found.length > taken };
  }
}
