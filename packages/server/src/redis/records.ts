import { createHash } from 'node:crypto';
import { RecordVersion, type Endpoint } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

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
 */
const recordKeys = (keys: Keys, groupId: string) => {
  const base = `${keys.prefix}grp:${groupId}:rec`;
  return {
    feed: `${base}:feed`,
    seq: `${base}:seq`,
    heads: `${base}:heads`,
    versions: `${base}:versions`,
    pointers: `${base}:pointers`,
    history: (recordId: string) => `${base}:hist:${recordId}`,
  };
};

// Shared by the scripts: the version JSON stored at `seq` (false if none).
const AT_SEQ = `
local function at_seq(seq)
  local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
  return found[1] or false
end
local function head_of(recordId)
  local vid = redis.call('HGET', KEYS[2], recordId)
  if not vid then return false end
  local entry = redis.call('HGET', KEYS[3], vid)
  return at_seq(string.match(entry, '^(%d+)'))
end
`;

// KEYS: 1 feed, 2 heads, 3 versions, 4 seq counter, 5 pointers, 6 record history, 7 the ledger's
// pointer hash. ARGV: 1 recordId, 2 versionId, 3 parentVersionId ('' = create), 4 pointerId,
// 5 fingerprint, 6 version JSON without seq (starts with '{'), 7 history bound.
// Returns {1, json} created, {2, json} same version already stored, {0, head json or ''} conflict,
// {-1} pointer id taken. The head check, the seq and every index move together: one version per
// parent wins, and the feed never shows a seq whose version is not complete.
const APPEND = `${AT_SEQ}
local existing = redis.call('HGET', KEYS[3], ARGV[2])
if existing then
  local seq, fp = string.match(existing, '^(%d+) (%x+)$')
  if fp == ARGV[5] then return {2, at_seq(seq)} end
  return {0, head_of(ARGV[1]) or ''}
end
local head = redis.call('HGET', KEYS[2], ARGV[1])
if (head or '') ~= ARGV[3] then return {0, head_of(ARGV[1]) or ''} end
if redis.call('HEXISTS', KEYS[5], ARGV[4]) == 1 or redis.call('EXISTS', KEYS[7]) == 1 then return {-1} end
local seq = redis.call('INCR', KEYS[4])
local json = '{"seq":' .. seq .. ',' .. string.sub(ARGV[6], 2)
redis.call('ZADD', KEYS[1], seq, json)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], seq .. ' ' .. ARGV[5])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[2])
redis.call('RPUSH', KEYS[6], seq)
redis.call('LTRIM', KEYS[6], -tonumber(ARGV[7]), -1)
return {1, json}
`;

// KEYS: 1 feed, 2 heads, 3 versions. ARGV: recordId.
const HEAD = `${AT_SEQ}
return head_of(ARGV[1])
`;

// KEYS: 1 feed, 2 record history. One snapshot of the history, oldest first.
const HISTORY = `${AT_SEQ}
local out = {}
for _, seq in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local json = at_seq(seq)
  if json then out[#out + 1] = json end
end
return out
`;

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
 * script (APPEND), so the parent check and the head move are atomic.
 */
export class RecordStore {
  private readonly appendScript;
  private readonly headScript;
  private readonly historyScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.appendScript = defineScript<[number, (string | null)?]>(redis, 'conduitAppendRecordVersion', 7, APPEND);
    this.headScript = defineScript<string | null>(redis, 'conduitRecordHead', 3, HEAD);
    this.historyScript = defineScript<string[]>(redis, 'conduitRecordHistory', 2, HISTORY);
  }

  /** Appends a version if its parent is the record's head (null parent: the record must not exist). */
  async append(groupId: string, input: VersionInput, createdAt: Date): Promise<AppendResult> {
    const k = recordKeys(this.keys, groupId);
    // Everything but seq, which the script assigns.
    const body = JSON.stringify({ ...input, createdAt: createdAt.toISOString() });
    const [code, json] = await this.appendScript(
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
    if (code === -1) return { kind: 'pointer-taken' };
    if (code === 0) return { kind: 'conflict', head: json ? parseVersion(json) : null };
    if (!json) throw new Error('Record version vanished from the feed.');
    return { kind: code === 1 ? 'created' : 'existing', version: parseVersion(json) };
  }

  async head(groupId: string, recordId: string): Promise<RecordVersion | null> {
    const k = recordKeys(this.keys, groupId);
    const json = await this.headScript([k.feed, k.heads, k.versions], [recordId]);
    return json ? parseVersion(json) : null;
  }

  /** The newest MAX_RECORD_HISTORY versions, oldest first. */
  async history(groupId: string, recordId: string): Promise<RecordVersion[]> {
    const k = recordKeys(this.keys, groupId);
    return (await this.historyScript([k.feed, k.history(recordId)], [])).map(parseVersion);
  }

  /** Versions with seq > afterSeq, oldest first; `more` when the feed goes on after them. */
  async feed(groupId: string, afterSeq: number, limit: number): Promise<{ versions: RecordVersion[]; more: boolean }> {
    const k = recordKeys(this.keys, groupId);
    const found = await this.redis.zrangebyscore(k.feed, `(${afterSeq}`, '+inf', 'LIMIT', 0, limit + 1);
    return { versions: found.slice(0, limit).map(parseVersion), more: found.length > limit };
  }
}
