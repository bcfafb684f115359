import { ConduitError, DEFAULT_INLINE_MAX_BYTES, RecordVersion } from '@conduit/shared';
import type { Endpoint, FeedEntry, FeedNotificationV1, GroupId, VersionClaim } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { DecryptEnvelope, EncryptEnvelope } from '../files/envelope.js';
import type { GroupKeys } from '../virgil/group-keys.js';
import { openRecordEnvelope } from './envelope.js';
import { fetchValue } from './content.js';
import type { Presigned } from './objects.js';
import { ApplyQueue } from './apply-queue.js';
import { mapLimit, retryOnce } from './async-util.js';
import { RecordBatcher } from './batcher.js';
import { FeedPuller } from './feed-pull.js';
import { FreshLoader } from './fresh-loader.js';
import { checkRecordKey, deriveRecordId } from './record-id.js';
import type { JsonValue, RecordEntry, Replica } from './replica.js';
import { parseValue } from './value-json.js';
import { writeRecord } from './writer.js';
import type { Change, MergeFn, PutOptions, WriterDeps } from './writer.js';

export interface RecordsApi {
  createUpload: HttpClient['createUpload'];
  createDownload: HttpClient['createDownload'];
  putRecordBatch: HttpClient['putRecordBatch'];
  recordFeed: HttpClient['recordFeed'];
}

export interface RecordsDeps {
  groupId: GroupId;
  self: Endpoint;
  api: RecordsApi;
  keys: Pick<GroupKeys, 'encryptorFor' | 'decryptorFor'>;
  replica: Replica;
  /**
   * Keeps the group's Sync map open: it hands the map's `feed` notifications to notify().
   * Returns the function that closes it.
   */
  follow?: () => Promise<() => Promise<void>>;
  /** Registers a watch's stop function with the session, which calls it on close. */
  track?: (stop: () => Promise<void>) => () => Promise<void>;
  merge?: MergeFn;
  /** Values whose JSON is at most this long travel inside the envelope (default 4096, at most 8192). */
  inlineMaxBytes?: number;
  log?: (line: string) => void;
}

/** Objects fetched and envelopes opened at once during catch-up. */
export const CATCH_UP_CONCURRENCY = 32;

/**
 * Synced JSON records of one group on this endpoint (docs/records.md): writes with optimistic
 * concurrency and merge-on-conflict (concurrent puts share batch requests), reads from the
 * durable local replica, and catch-up from the server's feed when Sync says it moved.
 */
export class RecordsClient {
  private readonly listeners = new Set<(entry: RecordEntry) => void>();
  private syncing: Promise<number> | undefined;
  private readonly log: (line: string) => void;
  private readonly writer: WriterDeps;
  private readonly puller: FeedPuller;

  constructor(private readonly deps: RecordsDeps) {
    this.log = deps.log ?? (() => undefined);
    const { groupId, api } = deps;
    const encryptors = new FreshLoader<EncryptEnvelope>(() => deps.keys.encryptorFor(groupId));
    const written = new ApplyQueue<RecordEntry>((entries) => this.applyAndEmit(entries));
    this.writer = {
      groupId,
      self: deps.self,
      api,
      batcher: new RecordBatcher((versions) => retryOnce(() => api.putRecordBatch(groupId, { versions }))),
      encryptor: () => encryptors.get(),
      inlineMaxBytes: deps.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES,
      merge: deps.merge,
      log: this.log,
      localHead: (recordId) => deps.replica.head(groupId, recordId)?.versionId ?? null,
      openHead: (head) => this.remoteHead(head),
      applyWritten: (entry) => written.apply(entry),
    };
    this.puller = new FeedPuller(() => this.sync(), this.log);
  }

  get groupId(): GroupId {
    return this.deps.groupId;
  }

  /** Writes `value` under `key`; on a conflict merges with the remote head and retries. */
  async put(key: string, value: JsonValue, opts: PutOptions = {}): Promise<RecordEntry> {
    return this.write(checkRecordKey(key), { value }, opts);
  }

  /** Deletes `key` (a tombstone version; history keeps the earlier versions). A delete wins conflicts. */
  async delete(key: string, opts: Pick<PutOptions, 'parent'> = {}): Promise<RecordEntry> {
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

  /**
   * Live updates: follows the group's Sync map (each `feed` notification past the cursor pulls the
   * feed), polls the feed every 30 s as a safety net, and catches up now. Returns a stop function.
   */
  async watch(): Promise<() => Promise<void>> {
    if (!this.deps.follow) throw new ConduitError('CONFIG', 'Live updates need a Sync connection.');
    const detach = await this.deps.follow();
    const unpoll = this.puller.watch();
    const track = this.deps.track ?? ((stop) => stop);
    // Tracked as a whole, so closing the client also ends the safety poll.
    const end = track(async () => {
      unpoll();
      await detach();
    });
    try {
      await this.sync();
    } catch (err) {
      await end();
      throw err;
    }
    return end;
  }

  /**
   * A `feed` notification from the group's Sync map (untrusted: it only makes this client look):
   * pulls the feed when it names a seq past the cursor. The Sync channel delivers the item again
   * after a reconnect, so a reconnect pulls too when anything was missed.
   */
  notify(notification: FeedNotificationV1): void {
    if (notification.groupId !== this.groupId) {
      this.log('a feed notification in this group names another group');
      return;
    }
    if (notification.seq > this.deps.replica.cursor(this.groupId)) void this.puller.request();
  }

  private write(key: string, change: Change, opts: PutOptions): Promise<RecordEntry> {
    return writeRecord(this.writer, key, deriveRecordId(this.groupId, key), change, opts);
  }

  /** Opens and applies the head a conflict named (untrusted until its envelope checks out). */
  private async remoteHead(head: RecordVersion | null): Promise<RecordEntry | null> {
    const parsed = RecordVersion.nullable().safeParse(head);
    if (!parsed.success) throw new ConduitError('TRANSPORT', 'The server reported a conflict without a valid head.');
    if (!parsed.data) return null;
    const v = parsed.data;
    const entry = await this.openVersion({ ...v, groupId: this.groupId }, v.seq, v.createdAt, null, new Map());
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
      // The next page is fetched while this one is opened.
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

  /** Opens a version's envelope, checks its bindings, and takes its value inline or from its object. */
  private async openVersion(
    claim: VersionClaim,
    seq: number,
    createdAt: string,
    download: FeedEntry['download'],
    decryptors: Map<string, Promise<DecryptEnvelope>>,
  ): Promise<RecordEntry> {
    let decrypt = decryptors.get(claim.sender.identity);
    if (!decrypt) {
      decrypt = this.deps.keys.decryptorFor(this.groupId, claim.sender.identity);
      decryptors.set(claim.sender.identity, decrypt);
      decrypt.catch(() => decryptors.delete(claim.sender.identity));
    }
    const envelope = await openRecordEnvelope(claim, await decrypt, createdAt);
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
    if (claim.deleted) return entry;
    if (envelope.inline !== null) {
      // Sealed and signed with the envelope itself (v1 repeats it next to the object): no GET.
      entry.value = parseValue(Buffer.from(envelope.inline, 'base64'));
      return entry;
    }
    const content = envelope.content as NonNullable<typeof envelope.content>; // a live version without inline has one
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
}
