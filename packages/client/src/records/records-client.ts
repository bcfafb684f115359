import { ConduitError, envelopeSha256, inlineValue, recordPointerOf, RecordVersion } from '@conduit/shared';
import type {
  Endpoint,
  FeedEntry,
  GroupId,
  RecordEnvelopeV1,
  RecordPointerV1,
  VersionClaim,
  VersionId,
} from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { DecryptEnvelope, EncryptEnvelope } from '../files/envelope.js';
import type { GroupKeys } from '../virgil/group-keys.js';
import type { ReceiptSigner } from '../virgil/receipts.js';
import { randomBytes } from '../util/random.js';
import { openRecordEnvelope, sealRecordEnvelope } from './envelope.js';
import { fetchValue, uploadValue } from './content.js';
import type { Presigned } from './objects.js';
import { mapLimit, retryOnce } from './async-util.js';
import { FreshLoader } from './fresh-loader.js';
import { checkRecordKey, deriveRecordId } from './record-id.js';
import type { JsonValue, RecordEntry, Replica } from './replica.js';
import { parseValue, valueJson } from './value-json.js';

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

export interface RecordsApi {
  createUpload: HttpClient['createUpload'];
  createDownload: HttpClient['createDownload'];
  putRecordVersion: HttpClient['putRecordVersion'];
  recordFeed: HttpClient['recordFeed'];
  ack: HttpClient['ack'];
}

export interface RecordsDeps {
  groupId: GroupId;
  self: Endpoint;
  api: RecordsApi;
  keys: Pick<GroupKeys, 'encryptorFor' | 'decryptorFor'>;
  replica: Replica;
  /** Signs this endpoint's delivery receipts. */
  sign: ReceiptSigner;
  /**
   * Keeps the group's feed open: it applies the map's record pointers through receive(). Returns
   * the function that closes it.
   */
  follow?: () => Promise<() => Promise<void>>;
  merge?: MergeFn;
  log?: (line: string) => void;
}

/** A version this endpoint wrote, with the pointer the server published for it. */
export interface WrittenRecord extends RecordEntry {
  pointer: RecordPointerV1;
}

/** Conflict retries before a write gives up (each retry means another writer won a race). */
export const MAX_MERGE_ATTEMPTS = 8;
/** Objects fetched and envelopes opened at once during catch-up. */
export const CATCH_UP_CONCURRENCY = 32;

/** Last writer wins: the write being retried is the newest intent, so it goes on top. */
const lastWriterWins: MergeFn = (local) => local;

/**
 * Synced JSON records of one group on this endpoint (docs/records.md): writes with optimistic
 * concurrency and merge-on-conflict, reads from the durable local replica, live application of
 * record pointers and catch-up from the server's feed.
 */
export class RecordsClient {
  private readonly listeners = new Set<(entry: RecordEntry) => void>();
  private syncing: Promise<number> | undefined;
  private readonly encryptors: FreshLoader<EncryptEnvelope>;
  private readonly log: (line: string) => void;

  constructor(private readonly deps: RecordsDeps) {
    this.log = deps.log ?? (() => undefined);
    this.encryptors = new FreshLoader(() => deps.keys.encryptorFor(deps.groupId));
  }

  get groupId(): GroupId {
    return this.deps.groupId;
  }

  /** Writes `value` under `key`; on a conflict merges with the remote head and retries. */
  async put(key: string, value: JsonValue, opts: PutOptions = {}): Promise<WrittenRecord> {
    return this.write(checkRecordKey(key), { value }, opts);
  }

  /** Deletes `key` (a tombstone version; history keeps the earlier versions). A delete wins conflicts. */
  async delete(key: string, opts: Pick<PutOptions, 'parent'> = {}): Promise<WrittenRecord> {
    return this.write(checkRecordKey(key), { deleted: true }, opts);
  }

  /** The record's current value from the local replica (undefined when absent or deleted). */
  get(key: string): RecordEntry | undefined {
    const head = this.deps.replica.head(this.groupId, deriveRecordId(this.groupId, key));
    return head && !head.deleted ? head : undefined;
  }

  /** Every version of the record this replica holds, oldest first (sync() first for the latest). */
  history(key: string): RecordEntry[] {
    return this.deps.replica.history(this.groupId, deriveRecordId(this.groupId, key));
  }

  /** The heads of all live (not deleted) records, in feed order. */
  list(): RecordEntry[] {
    return this.deps.replica.heads(this.groupId).filter((e) => !e.deleted);
  }

  /** Called for every version that becomes its record's head on this endpoint (tombstones too). */
  onChange(listener: (entry: RecordEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Catch-up: applies every version of the group's durable feed after the replica's cursor, one
   * transaction per page. Concurrent calls share one run. Resolves with the number of new versions.
   */
  sync(): Promise<number> {
    this.syncing ??= this.catchUp().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Live updates: applies record pointers as they arrive, after catching up. Returns a stop function. */
  async watch(): Promise<() => Promise<void>> {
    if (!this.deps.follow) throw new ConduitError('CONFIG', 'Live updates need a Sync connection.');
    const stop = await this.deps.follow();
    try {
      await this.sync();
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  }

  /**
   * Applies one record pointer from Sync: verify, store, acknowledge. Idempotent: a version the
   * replica holds is only acknowledged again. A pointer past a gap triggers a catch-up.
   */
  async receive(pointer: RecordPointerV1): Promise<void> {
    if (pointer.groupId !== this.groupId)
      throw new ConduitError('INTEGRITY', 'A pointer in this group names another group.');
    if (pointer.sender.identity === this.deps.self.identity && pointer.sender.deviceId === this.deps.self.deviceId) {
      return; // this device wrote it and applied it then; it is not a recipient
    }
    if (!this.deps.replica.has(this.groupId, pointer.versionId)) {
      const claim: VersionClaim = { ...pointer, pointerId: pointer.id };
      const entry = await this.openVersion(claim, pointer.seq, pointer.createdAt, undefined, new Map());
      this.applyAndEmit([entry]);
    }
    await this.acknowledge(pointer);
    if (this.deps.replica.cursor(this.groupId) < pointer.seq - 1) {
      this.sync().catch((err: unknown) => this.log(`catch-up failed: ${(err as ConduitError).code ?? 'error'}`));
    }
  }

  private async write(
    key: string,
    change: { value: JsonValue } | { deleted: true },
    opts: PutOptions,
  ): Promise<WrittenRecord> {
    const recordId = deriveRecordId(this.groupId, key);
    let parent =
      opts.parent !== undefined ? opts.parent : (this.deps.replica.head(this.groupId, recordId)?.versionId ?? null);
    let next = change;
    const encrypt = await this.encryptors.get();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce(key, recordId, parent, next, encrypt);
      } catch (err) {
        if (!(err instanceof ConduitError) || err.code !== 'RECORD_CONFLICT' || attempt >= MAX_MERGE_ATTEMPTS)
          throw err;
        const remote = await this.remoteHead(err.details);
        parent = remote?.versionId ?? null;
        if ('value' in next) {
          const merge = opts.merge ?? this.deps.merge ?? lastWriterWins;
          next = { value: await merge(next.value, remote) };
        }
        this.log(`record write conflicted; retrying on top of the remote head (attempt ${attempt + 1})`);
      }
    }
  }

  private async writeOnce(
    key: string,
    recordId: string,
    parentVersionId: VersionId | null,
    change: { value: JsonValue } | { deleted: true },
    encrypt: EncryptEnvelope,
  ): Promise<WrittenRecord> {
    const versionId = randomBytes(16).toString('hex');
    const pointerId = randomBytes(16).toString('hex');
    const deleted = !('value' in change);
    const json = deleted ? null : valueJson(change.value);
    const content = json ? await uploadValue(this.deps.api, this.groupId, json) : null;
    const envelope: RecordEnvelopeV1 = {
      v: 1,
      kind: 'record',
      groupId: this.groupId,
      recordId,
      versionId,
      parentVersionId,
      pointerId,
      sender: this.deps.self,
      appKey: key,
      deleted,
      content,
      inline: json ? inlineValue(json) : null,
    };
    const sealed = await sealRecordEnvelope(envelope, encrypt);
    const request = {
      versionId,
      parentVersionId,
      pointerId,
      objectId: content?.objectId ?? null,
      deleted,
      envelope: sealed,
    };
    const written = await retryOnce(() => this.deps.api.putRecordVersion(this.groupId, recordId, request));
    const v = written.version;
    if (v.versionId !== versionId || v.recordId !== recordId || v.pointerId !== pointerId) {
      throw new ConduitError('INTEGRITY', 'The server acknowledged a different version.');
    }
    const entry: RecordEntry = {
      key,
      recordId,
      versionId,
      parentVersionId,
      pointerId,
      seq: v.seq,
      deleted,
      sender: this.deps.self,
      createdAt: v.createdAt,
      ...(deleted ? {} : { value: (change as { value: JsonValue }).value }),
    };
    this.applyAndEmit([entry]);
    const pointer = recordPointerOf(this.groupId, v, this.deps.self, sealed);
    return { ...entry, pointer };
  }

  /** Opens and applies the head a 409 named (untrusted until its envelope checks out). */
  private async remoteHead(details: unknown): Promise<RecordEntry | null> {
    const parsed = RecordVersion.nullable().safeParse((details as { head?: unknown } | undefined)?.head);
    if (!parsed.success) throw new ConduitError('TRANSPORT', 'The server reported a conflict without a valid head.');
    const head = parsed.data;
    if (!head) return null;
    const entry = await this.openVersion(
      { ...head, groupId: this.groupId },
      head.seq,
      head.createdAt,
      undefined,
      new Map(),
    );
    this.applyAndEmit([entry]);
    return entry;
  }

  private async catchUp(): Promise<number> {
    const decryptors = new Map<string, Promise<DecryptEnvelope>>();
    let after = this.deps.replica.cursor(this.groupId);
    let applied = 0;
    let pending = this.deps.api.recordFeed(this.groupId, after);
    for (;;) {
      const page = await pending;
      const more = page.next !== null && page.next > after;
      // The next page is fetched while this one is opened (the server presigns a page's URLs).
      if (more) {
        pending = this.deps.api.recordFeed(this.groupId, page.next as number);
        pending.catch(() => undefined); // observed on the next turn; never an unhandled rejection
      }
      const fresh = page.entries.filter((e) => !this.deps.replica.has(this.groupId, e.versionId));
      const entries = await mapLimit(fresh, CATCH_UP_CONCURRENCY, (e) =>
        this.openVersion({ ...e, groupId: this.groupId }, e.seq, e.createdAt, e.download, decryptors),
      );
      this.applyAndEmit(entries, page.entries.at(-1)?.seq ?? after);
      applied += entries.length;
      if (!more) return applied;
      after = page.next as number;
    }
  }

  /** Opens a version's envelope, checks its bindings, fetches and decrypts its value. */
  private async openVersion(
    claim: VersionClaim,
    seq: number,
    createdAt: string,
    download: FeedEntry['download'] | undefined,
    decryptors: Map<string, Promise<DecryptEnvelope>>,
  ): Promise<RecordEntry> {
    let decrypt = decryptors.get(claim.sender.identity);
    if (!decrypt) {
      decrypt = this.deps.keys.decryptorFor(this.groupId, claim.sender.identity);
      decryptors.set(claim.sender.identity, decrypt);
      decrypt.catch(() => decryptors.delete(claim.sender.identity));
    }
    const envelope = await openRecordEnvelope(claim, await decrypt);
    if (deriveRecordId(this.groupId, envelope.appKey) !== claim.recordId) {
      throw new ConduitError('INTEGRITY', "The record's key does not derive its id.");
    }
    const entry: RecordEntry = {
      key: envelope.appKey,
      recordId: claim.recordId,
      versionId: claim.versionId,
      parentVersionId: claim.parentVersionId,
      pointerId: claim.pointerId,
      seq,
      deleted: claim.deleted,
      sender: claim.sender,
      createdAt,
    };
    const content = envelope.content;
    if (!content) return entry;
    if (envelope.inline !== null) {
      // Sealed and signed with the envelope itself: no object GET needed.
      entry.value = parseValue(Buffer.from(envelope.inline, 'base64'));
      return entry;
    }
    const target: Presigned = download ?? (await this.deps.api.createDownload(this.groupId, content.objectId));
    entry.value = await fetchValue(target, claim.size, content);
    return entry;
  }

  private applyAndEmit(entries: RecordEntry[], coveredThrough = 0): number {
    const changed = this.deps.replica.apply(this.groupId, entries, coveredThrough);
    for (const entry of changed) {
      for (const listener of this.listeners) {
        try {
          listener(entry);
        } catch {
          this.log('a record change listener threw');
        }
      }
    }
    return changed.length;
  }

  /** Signs and sends the receipt for a version this endpoint verified and applied. */
  private async acknowledge(pointer: RecordPointerV1): Promise<void> {
    const digest = envelopeSha256(pointer.envelope);
    const signature = await this.deps.sign({
      pointerId: pointer.id,
      groupId: pointer.groupId,
      objectId: pointer.objectId,
      envelopeSha256: digest,
      sender: pointer.sender,
      receiver: this.deps.self,
    });
    try {
      await this.deps.api.ack(pointer.id, { objectId: pointer.objectId, envelopeSha256: digest, signature });
    } catch (err) {
      // This endpoint joined after the pointer was sent: nothing to acknowledge. A pointer the
      // ledger does not know (POINTER_NOT_FOUND) is the caller's to report.
      if (!(err instanceof ConduitError) || err.code !== 'NOT_A_RECIPIENT') throw err;
    }
  }
}
