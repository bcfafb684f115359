import { ConduitError } from '@conduit/shared';
import type { GroupId, ObjectId, PresignedUrl } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { PresignedTarget } from '../platform/object-storage.js';

/** Refresh a presigned GET this long before it expires. */
const MARGIN_MS = 5_000;

/** The presigned GET of one object, shared by parallel ranged reads and renewed when it expires or is refused. */
export class DownloadUrl {
  private current: { target: PresignedTarget; expiresAt: number } | undefined;
  private pending: Promise<PresignedUrl> | undefined;

  constructor(
    private readonly api: Pick<HttpClient, 'createDownload'>,
    private readonly groupId: GroupId,
    private readonly objectId: ObjectId,
  ) {}

  async get(): Promise<PresignedTarget> {
    if (this.current && this.current.expiresAt - MARGIN_MS > Date.now()) return this.current.target;
    this.pending ??= this.api.createDownload(this.groupId, this.objectId).finally(() => (this.pending = undefined));
    const presigned = await this.pending;
    if (presigned.method !== 'GET') throw new ConduitError('TRANSPORT', 'The server returned a non-GET download URL.');
    this.current = { target: presigned, expiresAt: Date.parse(presigned.expiresAt) };
    return presigned;
  }

  /** After a 403: the URL may have expired early (clock skew); fetch a new one next time. */
  forget(): void {
    this.current = undefined;
  }
}
