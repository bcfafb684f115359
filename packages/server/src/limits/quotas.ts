import { ConduitError } from '@conduit/shared';
import type { CountedQuota, QuotaStore } from '../adapters/redis/quotas.js';

export interface QuotaSettings {
  /** Bytes of objects the identity had presigned or started uploading, and of its record envelopes. */
  storedBytes: number;
  /** Pointers the identity sent that are still waiting for acknowledgements. */
  pendingPointers: number;
  /** Groups the identity created. */
  ownedGroups: number;
}

const GiB = 1024 ** 3;

/**
 * Stored bytes go down when a multipart upload is aborted or refused, and when an object is erased
 * (limits/quota-refunds.ts), so the byte quota bounds what one identity makes the bucket hold; pending
 * pointers bound the ledger and the Sync items one sender keeps alive (and one sender's share of a
 * group map's write budget); owned groups bound the Sync maps one identity makes.
 */
export const DEFAULT_QUOTAS: QuotaSettings = {
  storedBytes: 100 * GiB,
  pendingPointers: 10_000,
  ownedGroups: 1_000,
};

export type QuotaName = keyof QuotaSettings;

/** Whether a claimed member still counts: `claimedAt` (ms) lets a caller spare claims still in flight. */
export type StillCounts = (identity: string, member: string, claimedAt: number) => Promise<boolean>;

/** Claims of a counted quota are checked this many at a time when the quota is full. */
const PRUNE_PAGE = 200;

const COUNTED: Record<CountedQuota, QuotaName> = { pointers: 'pendingPointers', groups: 'ownedGroups' };

/**
 * Per-identity quotas, checked before the work they bound: nothing is presigned, registered or
 * created once a quota refuses (403 QUOTA_EXCEEDED, details {quota, limit, used, requested}).
 *
 * Counted quotas (pending pointers, owned groups) are sets of claims. A claim is made before the
 * write and dropped when the write fails; a pointer that leaves 'pending' (acknowledged, dropped,
 * expired) is noticed lazily: when a claim would be refused, the oldest claims are checked against
 * the ledger and those that no longer count are dropped first. So the quota never refuses on a
 * stale claim, and costs nothing extra while below its limit.
 */
export class Quotas {
  constructor(
    private readonly deps: {
      store: QuotaStore;
      limits: QuotaSettings;
      stillCounts: Record<CountedQuota, StillCounts>;
      /**
       * Claims older than this (ms) can no longer count and are dropped at every claim, so a
       * sender's stale claims do not pile up below the limit (pointers: the sweeper expires
       * pending ones past their maximum age). Absent: claims only go when they no longer count.
       */
      lifetimeMs: Partial<Record<CountedQuota, number>>;
      now?: () => Date;
    },
  ) {}

  /**
   * Counts `bytes` against the identity. With a reservation id the count is provisional until
   * `finishBytes` (an open multipart upload, a record write); without one it is final.
   */
  async reserveBytes(identity: string, bytes: number, reservation?: string): Promise<void> {
    const limit = this.deps.limits.storedBytes;
    const claim = await this.deps.store.reserveBytes(identity, bytes, limit, reservation);
    if (!claim.ok) throw quotaExceeded('storedBytes', limit, claim.used, bytes);
  }

  /** Settles a reservation: `keep` of its bytes stay counted, the rest is given back. Idempotent. */
  async finishBytes(identity: string, reservation: string, keep: number): Promise<void> {
    await this.deps.store.finishBytes(identity, reservation, keep);
  }

  /** Claims `member`; true when this call claimed it, false when an earlier call holds it (a retry). */
  async claim(quota: CountedQuota, identity: string, member: string): Promise<boolean> {
    const limit = this.deps.limits[COUNTED[quota]];
    const lifetime = this.deps.lifetimeMs[quota];
    for (let pruned = false; ; pruned = true) {
      const now = this.deps.now?.() ?? new Date();
      const staleBefore = lifetime === undefined ? 0 : now.getTime() - lifetime;
      const claim = await this.deps.store.claim(quota, identity, member, limit, now, staleBefore);
      if (claim.ok) return claim.fresh;
      if (pruned || !(await this.prune(quota, identity))) throw quotaExceeded(COUNTED[quota], limit, claim.used, 1);
    }
  }

  async release(quota: CountedQuota, identity: string, member: string): Promise<void> {
    await this.deps.store.unclaim(quota, identity, [member]);
  }

  /** Drops claims that no longer count, oldest first, until a page frees something; false if none did. */
  private async prune(quota: CountedQuota, identity: string): Promise<boolean> {
    const stillCounts = this.deps.stillCounts[quota];
    for (let offset = 0; ; offset += PRUNE_PAGE) {
      const page = await this.deps.store.oldest(quota, identity, offset, PRUNE_PAGE);
      const counts = await Promise.all(page.map((c) => stillCounts(identity, c.member, c.claimedAt)));
      const stale = page.filter((_, i) => !counts[i]).map((c) => c.member);
      if (stale.length > 0) {
        await this.deps.store.unclaim(quota, identity, stale);
        return true;
      }
      if (page.length < PRUNE_PAGE) return false;
    }
  }
}

export function quotaExceeded(quota: QuotaName, limit: number, used: number, requested: number): ConduitError {
  return new ConduitError('QUOTA_EXCEEDED', `The ${quota} quota of this identity would be exceeded.`, {
    quota,
    limit,
    used,
    requested,
  });
}
