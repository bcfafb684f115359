import { randomBytes } from 'node:crypto';
import { ConduitError, FEED_PAGE_SIZE, MAX_RECORD_BYTES } from '@conduit/shared';
import type {
  Endpoint,
  FeedPage,
  PutRecordBatchItem,
  PutRecordVersionRequest,
  RecordBatchItemResult,
  RecordVersion,
  RecordWrite,
} from '@conduit/shared';
import type { ObjectService } from '../files/object-service.js';
import type { ObjectIndex } from '../lifecycle/object-index.js';
import type { Quotas } from '../limits/quotas.js';
import type { AppendResult, RecordStore, VersionInput } from '../adapters/redis/records.js';
import type { FeedNotify } from './feed-notifier.js';
import { ArchivedPageMissing, type ArchivedFeed } from './archive/archived-feed.js';

/**
 * A record's ciphertext: a record of at most MAX_RECORD_BYTES, padded (padme adds at most 12%)
 * and sealed (a header and a tag per segment), stays well below this. Bounds what the feed
 * hands to every catching-up device.
 */
export const MAX_RECORD_OBJECT_BYTES = 2 * MAX_RECORD_BYTES;
/**
 * Stored JSON of one feed page at most (one version always fits): 1,000 envelopes of 16 KiB
 * would be 16 MiB, too much for one response to a phone.
 */
export const FEED_PAGE_MAX_BYTES = 4 * 1024 * 1024;

const TOO_LARGE = `a record's object may hold at most ${MAX_RECORD_OBJECT_BYTES} bytes`;

export const invalidBody = (path: string, message: string): ConduitError =>
  new ConduitError('VALIDATION_FAILED', 'Invalid body.', [{ where: 'body', path, message }]);

export interface RecordServiceDeps {
  records: RecordStore;
  objects: ObjectService;
  notifier: FeedNotify;
  quotas: Pick<Quotas, 'reserveBytes' | 'finishBytes'>;
  /** Marks a version's value object as a record's (records retention deletes it with its version). */
  index: Pick<ObjectIndex, 'bound' | 'assertUploadedBy'>;
  /** Serves seqs moved to S3 pages; absent when no page store is wired (nothing gets archived). */
  archive?: ArchivedFeed;
}

type Failed = Extract<RecordBatchItemResult, { status: 'failed' }>;

/**
 * Records sync (docs/records.md): versioned writes checked against the record's head, the head and
 * history of a record, and each group's durable feed of versions for catch-up. After versions are
 * appended the group's feed notification is refreshed (coalesced, after the response). Callers
 * have checked membership (http/access.ts).
 */
export class RecordService {
  constructor(private readonly deps: RecordServiceDeps) {}

  /** A new version whose parent must be the current head (null parent: a new record). */
  async write(
    groupId: string,
    recordId: string,
    sender: Endpoint,
    body: PutRecordVersionRequest,
  ): Promise<RecordWrite> {
    const size = body.objectId === null ? 0 : await this.recordObjectSize(groupId, body.objectId);
    const input = inputOf({ ...body, recordId }, sender, size);
    await this.bindObjects(groupId, [input]);
    const results = await this.counted(sender.identity, [input], async () => [
      await this.deps.records.append(groupId, input, new Date()),
    ]);
    const result = results[0]!;
    this.notifyIfAppended(groupId, results);
    if (result.kind === 'conflict') {
      throw new ConduitError('RECORD_CONFLICT', undefined, { head: result.head });
    }
    if (result.kind === 'pointer-taken') throw new ConduitError('POINTER_EXISTS');
    return { version: result.version };
  }

  /**
   * Versions appended in request order in one Redis round trip, each checked as by `write` (so an
   * item may name an earlier item as its parent); one result per item. The objects' sizes are
   * read first, all at once: an item whose object is missing or too large fails alone.
   */
  async writeBatch(groupId: string, sender: Endpoint, items: PutRecordBatchItem[]): Promise<RecordBatchItemResult[]> {
    const sizes = await Promise.all(items.map((item) => this.batchItemSize(groupId, item)));
    const inputs: VersionInput[] = [];
    items.forEach((item, i) => {
      const size = sizes[i]!;
      if (typeof size === 'number') inputs.push(inputOf(item, sender, size));
    });
    await this.bindObjects(groupId, inputs);
    const appended = await this.counted(sender.identity, inputs, () =>
      this.deps.records.appendMany(groupId, inputs, new Date()),
    );
    this.notifyIfAppended(groupId, appended);
    let next = 0;
    return sizes.map((size) => (typeof size === 'number' ? resultOf(appended[next++]!) : size));
  }

  /** The record's history, oldest first (its newest MAX_RECORD_HISTORY versions). */
  async history(groupId: string, recordId: string): Promise<RecordVersion[]> {
    const versions = await this.deps.records.history(groupId, recordId);
    if (versions.length === 0) throw new ConduitError('RECORD_NOT_FOUND');
    return versions;
  }

  /** The head (a tombstone when the record was deleted). */
  async head(groupId: string, recordId: string): Promise<RecordVersion> {
    const head = await this.deps.records.head(groupId, recordId);
    if (!head) throw new ConduitError('RECORD_NOT_FOUND');
    return head;
  }

  /**
   * One page of the durable feed (at most FEED_PAGE_SIZE versions and FEED_PAGE_MAX_BYTES of
   * them), with presigned GETs for the versions that have an object, signed all at once
   * (presigning is a local HMAC, no S3 round trip).
   */
  async feed(groupId: string, afterSeq: number): Promise<FeedPage> {
    const { versions, more, covered } = await this.readFeed(groupId, afterSeq);
    const gets = await Promise.all(
      versions.map((v) => (v.objectId === null ? null : this.deps.objects.presignGet(groupId, v.objectId))),
    );
    const entries = versions.map((v, i) => {
      const get = gets[i];
      return { ...v, download: get ? { url: get.url, headers: get.headers } : null };
    });
    return { entries, next: more ? covered : null };
  }

  /**
   * The Redis feed, or the archived page the archive index names. A page retention rewrote (and
   * deleted the old generation of) between the index read and the GET is read again, once.
   */
  private async readFeed(
    groupId: string,
    afterSeq: number,
  ): Promise<{ versions: RecordVersion[]; more: boolean; covered: number | null }> {
    for (let attempt = 0; ; attempt += 1) {
      const page = await this.deps.records.feed(groupId, afterSeq, FEED_PAGE_SIZE, FEED_PAGE_MAX_BYTES);
      if (!page.archived) return { ...page, covered: page.versions.at(-1)?.seq ?? null };
      if (!this.deps.archive) throw new Error('The feed is archived but no archive reader is configured.');
      try {
        return await this.deps.archive.read(groupId, afterSeq, page.archived, FEED_PAGE_SIZE, FEED_PAGE_MAX_BYTES);
      } catch (err) {
        if (!(err instanceof ArchivedPageMissing) || attempt > 0) throw err;
      }
    }
  }

  /**
   * The envelopes are kept (feed, archive) until retention or a group deletion drops them: their
   * bytes count against the sender's stored-bytes quota for good (docs/lifecycle.md, quota
   * refunds), reserved before the append (a refusal writes nothing) and kept for the versions it
   * created (a retry's 'existing' was counted by its first attempt).
   */
  private async counted(
    identity: string,
    inputs: readonly VersionInput[],
    append: () => Promise<AppendResult[]>,
  ): Promise<AppendResult[]> {
    const bytes = inputs.map((input) => input.envelope.length);
    const reservation = `rec:${randomBytes(16).toString('hex')}`;
    await this.deps.quotas.reserveBytes(
      identity,
      bytes.reduce((a, b) => a + b, 0),
      reservation,
    );
    let results: AppendResult[] = [];
    try {
      results = await append();
    } finally {
      const kept = results.reduce((sum, r, i) => sum + (r.kind === 'created' ? bytes[i]! : 0), 0);
      await this.deps.quotas.finishBytes(identity, reservation, kept);
    }
    return results;
  }

  /**
   * Before the append: once a version names its object, the files rule (which deletes staged
   * objects nobody bound) must never take it. A write refused afterwards (conflict) leaves its
   * object bound to no version; records retention never finds it (docs/lifecycle.md).
   */
  private async bindObjects(groupId: string, inputs: readonly VersionInput[]): Promise<void> {
    for (const v of inputs) {
      if (v.objectId !== null) await this.deps.index.assertUploadedBy(groupId, v.objectId, v.sender.identity);
    }
    await Promise.all(
      inputs.map((v) =>
        v.objectId === null
          ? undefined
          : this.deps.index.bound(groupId, v.objectId, {
              state: 'record',
              pointerId: v.pointerId,
              size: v.size,
              sender: v.sender,
            }),
      ),
    );
  }

  /**
   * A retried write ('existing') notifies as well: its first attempt may have died between the
   * append and the notification.
   */
  private notifyIfAppended(groupId: string, results: AppendResult[]): void {
    if (results.some((r) => r.kind === 'created' || r.kind === 'existing')) this.deps.notifier.notify(groupId);
  }

  /** The stored size of a record's object, which must have been uploaded to this group. */
  private async recordObjectSize(groupId: string, objectId: string): Promise<number> {
    const size = await this.deps.objects.storedSize(groupId, objectId);
    if (size > MAX_RECORD_OBJECT_BYTES) throw invalidBody('objectId', TOO_LARGE);
    return size;
  }

  /** The item's object size, or the item's failure (other errors fail the whole batch). */
  private async batchItemSize(groupId: string, item: PutRecordBatchItem): Promise<number | Failed> {
    if (item.objectId === null) return 0;
    try {
      const size = await this.deps.objects.storedSize(groupId, item.objectId);
      return size > MAX_RECORD_OBJECT_BYTES
        ? { status: 'failed', code: 'VALIDATION_FAILED', message: TOO_LARGE }
        : size;
    } catch (err) {
      if (err instanceof ConduitError && err.code === 'NOT_FOUND') {
        return { status: 'failed', code: 'NOT_FOUND', message: err.message };
      }
      throw err;
    }
  }
}

function inputOf(item: PutRecordBatchItem, sender: Endpoint, size: number): VersionInput {
  return {
    recordId: item.recordId,
    versionId: item.versionId,
    parentVersionId: item.parentVersionId,
    pointerId: item.pointerId,
    objectId: item.objectId,
    size,
    deleted: item.deleted,
    envelope: item.envelope,
    sender,
  };
}

function resultOf(r: AppendResult): RecordBatchItemResult {
  if (r.kind === 'conflict') return { status: 'conflict', head: r.head };
  if (r.kind === 'pointer-taken') {
    return { status: 'failed', code: 'POINTER_EXISTS', message: 'This pointer id names another version.' };
  }
  return { status: r.kind, version: r.version };
}
