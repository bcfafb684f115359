import { ConduitError, MAX_PARTS_PER_REQUEST } from '@conduit/shared';
import type { GroupId, UploadId } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import { partSpan } from './part-plan.js';
import type { PartPlan } from './part-plan.js';
import { withRetry } from './retry.js';
import type { PresignedTarget } from '../platform/object-storage.js';

/** URLs presigned per request, ahead of the parts that use them. */
const URL_BATCH = Math.min(32, MAX_PARTS_PER_REQUEST);
/** Refresh a presigned URL this long before it expires. */
const URL_MARGIN_MS = 10_000;

/** Presigned part URLs, fetched in batches ahead of use and refreshed before they expire. */
export class PartUrls {
  private readonly cache = new Map<number, { target: PresignedTarget; expiresAt: number }>();
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly api: Pick<HttpClient, 'presignParts'>,
    private readonly groupId: GroupId,
    private readonly uploadId: UploadId,
    private readonly plan: PartPlan,
    private readonly order: number[],
  ) {}

  async get(partNumber: number): Promise<PresignedTarget> {
    for (;;) {
      const hit = this.cache.get(partNumber);
      if (hit && hit.expiresAt - URL_MARGIN_MS > Date.now()) return hit.target;
      if (!this.fetching) {
        this.fetching = this.fetch(partNumber).finally(() => (this.fetching = undefined));
        await this.fetching;
        const fresh = this.cache.get(partNumber);
        if (!fresh) throw new ConduitError('TRANSPORT', 'The server did not presign a requested part.');
        return fresh.target;
      }
      await this.fetching.catch(() => undefined);
    }
  }

  forget(partNumber: number): void {
    this.cache.delete(partNumber);
  }

  private async fetch(first: number): Promise<void> {
    const from = Math.max(0, this.order.indexOf(first));
    const numbers = [first, ...this.order.slice(from + 1).filter((p) => !this.cache.has(p))].slice(0, URL_BATCH);
    const parts = numbers.map((partNumber) => ({ partNumber, size: partSpan(this.plan, partNumber).size }));
    const res = await withRetry(() => this.api.presignParts(this.groupId, this.uploadId, { parts }));
    const expiresAt = Date.parse(res.expiresAt);
    const wanted = new Set(numbers);
    for (const part of res.parts) {
      if (wanted.has(part.partNumber)) this.cache.set(part.partNumber, { target: part, expiresAt });
    }
  }
}
