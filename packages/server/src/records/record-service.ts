import { ConduitError, FEED_PAGE_SIZE, MAX_RECORD_BYTES } from '@conduit/shared';
import type { Endpoint, FeedPage, PutRecordVersionRequest, RecordVersion, RecordWrite } from '@conduit/shared';
import type { Logger } from 'pino';
import type { ObjectService } from '../files/object-service.js';
import type { PointerRegistry } from '../files/pointer-registry.js';
import type { RecordStore } from '../adapters/redis/records.js';

/**
 * A record's ciphertext: a record of at most MAX_RECORD_BYTES, padded (padme adds at most 12%)
 * and sealed (a header and a tag per segment), stays well below this. Bounds what the feed
 * hands to every catching-up device.
 */
export const MAX_RECORD_OBJECT_BYTES = 2 * MAX_RECORD_BYTES;

export const invalidBody = (path: string, message: string): ConduitError =>
  new ConduitError('VALIDATION_FAILED', 'Invalid body.', [{ where: 'body', path, message }]);

export interface RecordServiceDeps {
  records: RecordStore;
  objects: ObjectService;
  pointers: PointerRegistry;
  logger: Logger;
}

/**
 * Records sync (docs/records.md): versioned writes checked against the record's head, the head and
 * history of a record, and each group's durable feed of versions for catch-up. Callers have
 * checked membership (http/access.ts).
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
    const result = await this.deps.records.append(
      groupId,
      {
        recordId,
        versionId: body.versionId,
        parentVersionId: body.parentVersionId,
        pointerId: body.pointerId,
        objectId: body.objectId,
        size,
        deleted: body.deleted,
        envelope: body.envelope,
        sender,
      },
      new Date(),
    );
    if (result.kind === 'conflict') {
      throw new ConduitError('RECORD_CONFLICT', undefined, { head: result.head });
    }
    if (result.kind === 'pointer-taken') throw new ConduitError('POINTER_EXISTS');
    return { version: result.version };
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

  /** One page of the durable feed, with presigned GETs (a local HMAC: no S3 round trip). */
  async feed(groupId: string, afterSeq: number): Promise<FeedPage> {
    const { versions, more } = await this.deps.records.feed(groupId, afterSeq, FEED_PAGE_SIZE);
    const entries = await Promise.all(
      versions.map(async (v) => {
        if (v.objectId === null) return { ...v, download: null };
        const get = await this.deps.objects.presignGet(groupId, v.objectId);
        return { ...v, download: { url: get.url, headers: get.headers } };
      }),
    );
    return { entries, next: more ? (versions.at(-1)?.seq ?? null) : null };
  }

  /** The stored size of a record's object, which must have been uploaded to this group. */
  private async recordObjectSize(groupId: string, objectId: string): Promise<number> {
    const size = await this.deps.objects.storedSize(groupId, objectId);
    if (size > MAX_RECORD_OBJECT_BYTES) {
      throw invalidBody('objectId', `a record's object may hold at most ${MAX_RECORD_OBJECT_BYTES} bytes`);
    }
    return size;
  }
}
