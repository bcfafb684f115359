import { ConduitError, inlineValue, RECORD_ENVELOPE_VERSION } from '@conduit/shared';
import type {
  Endpoint,
  GroupId,
  PutRecordBatchItem,
  RecordContent,
  RecordEnvelopeV2,
  RecordId,
  RecordVersion,
  VersionId,
} from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { EncryptEnvelope } from '../files/envelope.js';
import { randomBytes } from '../util/random.js';
import type { RecordBatcher } from './batcher.js';
import { uploadValue } from './content.js';
import { sealRecordEnvelope } from './envelope.js';
import type { JsonValue, RecordEntry } from './replica.js';
import { valueJson } from './value-json.js';

/**
 * Resolves a write conflict: `local` is the value this endpoint tried to write, `remote` the
 * record's current head (null when it has none, `deleted` for a tombstone). The result is
 * written on top of `remote`.
 */
export type MergeFn = (local: JsonValue, remote: RecordEntry | null) => JsonValue | Promise<JsonValue>;

export interface PutOptions {
  /** The version this write replaces (default: the local replica's head; null: a new record). */
  parent?: VersionId | null;
  /** Conflict resolution for this write (default: the client's merge). */
  merge?: MergeFn;
}

/** Conflict retries before a write gives up (each retry means another writer won a race). */
export const MAX_MERGE_ATTEMPTS = 8;

export type Change = { value: JsonValue } | { deleted: true };

export interface WriterDeps {
  groupId: GroupId;
  self: Endpoint;
  api: Pick<HttpClient, 'createUpload'>;
  batcher: RecordBatcher;
  /** The group cipher, at least as fresh as the write (FreshLoader). */
  encryptor: () => Promise<EncryptEnvelope>;
  /** Values whose JSON is at most this long travel inside the envelope (no S3 object). */
  inlineMaxBytes: number;
  merge?: MergeFn;
  log: (line: string) => void;
  /** The local replica's head of the record. */
  localHead: (recordId: RecordId) => VersionId | null;
  /** Opens, checks and applies the head a conflict named (untrusted until its envelope checks out). */
  openHead: (head: RecordVersion | null) => Promise<RecordEntry | null>;
  /** Applies a version this endpoint wrote to the replica (and emits its change). */
  applyWritten: (entry: RecordEntry) => Promise<void>;
}

/** Last writer wins: the write being retried is the newest intent, so it goes on top. */
const lastWriterWins: MergeFn = (local) => local;

/**
 * Writes one version with optimistic concurrency: seals it on its own, sends it through the
 * group's batcher, and on a conflict merges with the remote head and tries again on top of it.
 */
export async function writeRecord(
  deps: WriterDeps,
  key: string,
  recordId: RecordId,
  change: Change,
  opts: PutOptions,
): Promise<RecordEntry> {
  let parent = opts.parent !== undefined ? opts.parent : deps.localHead(recordId);
  let next = change;
  const encrypt = await deps.encryptor();
  for (let attempt = 1; ; attempt++) {
    const { item, entry } = await prepare(deps, key, recordId, parent, next, encrypt);
    const result = await deps.batcher.submit(item);
    if (result.status === 'failed') throw new ConduitError(result.code, result.message);
    if (result.status !== 'conflict') {
      const v = result.version;
      if (v.versionId !== item.versionId || v.recordId !== recordId || v.pointerId !== item.pointerId) {
        throw new ConduitError('INTEGRITY', 'The server acknowledged a different version.');
      }
      const written = { ...entry, seq: v.seq, createdAt: v.createdAt };
      await deps.applyWritten(written);
      return written;
    }
    if (attempt >= MAX_MERGE_ATTEMPTS) {
      throw new ConduitError('RECORD_CONFLICT', 'The record kept changing; the write gave up.', {
        head: result.head,
      });
    }
    const remote = await deps.openHead(result.head);
    parent = remote?.versionId ?? null;
    if ('value' in next) {
      const merge = opts.merge ?? deps.merge ?? lastWriterWins;
      next = { value: await merge(next.value, remote) };
    }
    deps.log(`record write conflicted; retrying on top of the remote head (attempt ${attempt + 1})`);
  }
}

/** A sealed batch item for the change, and the entry it becomes once the server accepts it. */
async function prepare(
  deps: WriterDeps,
  key: string,
  recordId: RecordId,
  parentVersionId: VersionId | null,
  change: Change,
  encrypt: EncryptEnvelope,
): Promise<{ item: PutRecordBatchItem; entry: Omit<RecordEntry, 'seq' | 'createdAt'> }> {
  const versionId = randomBytes(16).toString('hex');
  const pointerId = randomBytes(16).toString('hex');
  const deleted = !('value' in change);
  const json = deleted ? null : valueJson(change.value);
  const base: Omit<RecordEnvelopeV2, 'content' | 'inline'> = {
    v: RECORD_ENVELOPE_VERSION,
    kind: 'record',
    groupId: deps.groupId,
    recordId,
    versionId,
    parentVersionId,
    pointerId,
    sender: deps.self,
    appKey: key,
    deleted,
  };
  const seal = (content: RecordContent | null, inline: string | null) =>
    sealRecordEnvelope({ ...base, content, inline }, encrypt);
  let content: RecordContent | null = null;
  let envelope: string | undefined;
  const inline = json ? inlineValue(json, deps.inlineMaxBytes) : null;
  if (json && inline !== null) {
    // Long key names or identities can push a maximal inline value past the envelope's bound:
    // such a value goes to S3 like a large one.
    envelope = await seal(null, inline).catch((err: unknown) => {
      if (err instanceof ConduitError && err.code === 'VALIDATION_FAILED') return undefined;
      throw err;
    });
  }
  if (json && envelope === undefined) content = await uploadValue(deps.api, deps.groupId, json);
  envelope ??= await seal(content, null);
  const item: PutRecordBatchItem = {
    recordId,
    versionId,
    parentVersionId,
    pointerId,
    objectId: content?.objectId ?? null,
    deleted,
    envelope,
  };
  const entry = {
    key,
    recordId,
    versionId,
    parentVersionId,
    pointerId,
    deleted,
    sender: deps.self,
    ...(deleted ? {} : { value: (change as { value: JsonValue }).value }),
  };
  return { item, entry };
}
