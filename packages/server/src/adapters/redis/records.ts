import { createHash } from 'node:crypto';
import { RecordVersion, type Endpoint } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { AppendRecordVersionReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

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

export type AppendResult =
  | { kind: 'created' | 'existing'; version: RecordVersion }
  | { kind: 'conflict'; head: RecordVersion | null }
  | { kind: 'pointer-taken' };

/**
 * Per-group keys (under the deployment prefix; ids never contain ':').
 * feed: sorted set, score = seq, member = the version's JSON (ciphertext envelope and ids only).
 * seq: the feed's counter. heads: hash recordId -> head versionId. versions: hash versionId ->
 * "<seq> <fingerprint>". pointers: hash pointerId -> versionId. history: list of a record's seqs.
 * archive: how far the feed was moved to S3 pages (records/archive/).
 */
export const recordKeys = (keys: Keys, groupId: string) => {
  const base = `${keys.prefix}grp:${groupId}:rec`;
  return {
    feed: `${base}:feed`,
    seq: `${base}:seq`,
    heads: `${base}:heads`,
    versions: `${base}:versions`,
    pointers: `${base}:pointers`,
    history: (recordId: string) => `${base}:hist:${recordId}`,
    /** Hash {through}: the last seq moved to S3 pages (records/archive/). */
    archive: `${base}:archive`,
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

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'appendRecordVersion', 'recordHead', 'recordHistory');
  }

  /** Appends a version if its parent is the record's head (null parent: the record must not exist). */
  async append(groupId: string, input: VersionInput, createdAt: Date): Promise<AppendResult> {
    const k = recordKeys(this.keys, groupId);
    // Everything but seq, which the script assigns.
    const body = JSON.stringify({ ...input, createdAt: createdAt.toISOString() });
    const [code, json] = await this.scripts.appendRecordVersion(
      [k.feed, k.heads, k.versions, k.seq, k.pointers, k.history(input.recordId), this.keys.pointer(input.pointerId)],
      [
        input.recordId,
        input.versionId,
        input.parentVersionId ?? '',
        input.pointerId,
        fingerprint(input),
        body,
        MAX_RECORD_HISTORY,
      ],
    );
    if (code === AppendRecordVersionReply.PointerTaken) return { kind: 'pointer-taken' };
    if (code === AppendRecordVersionReply.Conflict) return { kind: 'conflict', head: json ? parseVersion(json) : null };
    if (!json) throw new Error('Record version vanished from the feed.');
    return { kind: code === AppendRecordVersionReply.Created ? 'created' : 'existing', version: parseVersion(json) };
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

  /** Versions with seq > afterSeq, oldest first; `more` when the feed goes on after them. */
  async feed(groupId: string, afterSeq: number, limit: number): Promise<{ versions: RecordVersion[]; more: boolean }> {
    const k = recordKeys(this.keys, groupId);
    const found = await this.redis.zrangebyscore(k.feed, `(${afterSeq}`, '+inf', 'LIMIT', 0, limit + 1);
    return { versions: found.slice(0, limit).map(parseVersion), more: found.length > limit };
  }
}
