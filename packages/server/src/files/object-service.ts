import { randomBytes } from 'node:crypto';
import { ConduitError, objectKeyOf } from '@conduit/shared';
import type { Endpoint, ObjectStore, PresignedRequest } from '@conduit/shared';
import type { ObjectIndex } from '../lifecycle/object-index.js';

/** Presigned S3 access to a group's ciphertext objects, keyed by group and server-chosen id. */
export class ObjectService {
  constructor(
    private readonly store: ObjectStore,
    private readonly index: Pick<ObjectIndex, 'staged'>,
  ) {}

  /** A fresh object id, indexed for the data lifecycle, and a PUT bound to the declared size. */
  async presignUpload(
    groupId: string,
    size: number,
    uploader: Endpoint,
  ): Promise<{ objectId: string; put: PresignedRequest }> {
    // Server-chosen ids: a client can never overwrite an existing object.
    const objectId = randomBytes(16).toString('hex');
    // Indexed before the URL exists: retention and erasure can always find what it uploads, and
    // give back the bytes the quota counted for it.
    await this.index.staged(groupId, objectId, uploader, new Date(), size);
    return { objectId, put: await this.store.presignPut(objectKeyOf(groupId, objectId), size) };
  }

  /** A GET for an object that exists (404 NOT_FOUND otherwise). */
  async presignDownload(groupId: string, objectId: string): Promise<PresignedRequest> {
    await this.storedSize(groupId, objectId);
    return this.presignGet(groupId, objectId);
  }

  /** A GET without checking the object: presigning is a local HMAC, no S3 round trip. */
  presignGet(groupId: string, objectId: string): Promise<PresignedRequest> {
    return this.store.presignGet(objectKeyOf(groupId, objectId));
  }

  /** The stored size of an object uploaded to this group (404 NOT_FOUND when there is none). */
  async storedSize(groupId: string, objectId: string): Promise<number> {
    const stored = await this.store.head(objectKeyOf(groupId, objectId));
    if (!stored) throw new ConduitError('NOT_FOUND', 'No such object.');
    return stored.size;
  }
}
