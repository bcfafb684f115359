import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { defineScripts } from '../../redis/script-loader.js';

/** The quotas counted as a set of members (a pending pointer, an owned group) rather than bytes. */
export type CountedQuota = 'pointers' | 'groups';

export interface QuotaClaim {
  ok: boolean;
  /** What is counted after the call (before it, when refused). */
  used: number;
}

export interface MemberClaim extends QuotaClaim {
  /** Claimed by this call (false: refused, or held already by an earlier one). */
  fresh: boolean;
}

export interface ClaimedMember {
  member: string;
  claimedAt: number;
}

/**
 * Per-identity quota counters. Every key of one identity carries its `{i:<identity>}` tag, so each
 * script runs in one slot and is atomic across API processes (quotaBytes-2.lua, quotaClaim-1.lua).
 */
export class QuotaStore {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'quotaBytes', 'quotaClaim');
  }

  /** Adds `bytes` unless that exceeds `limit`; with a reservation id, `finish` settles it later. */
  async reserveBytes(identity: string, bytes: number, limit: number, reservation = ''): Promise<QuotaClaim> {
    const [ok, used] = await this.scripts.quotaBytes(this.byteKeys(identity), ['reserve', bytes, limit, reservation]);
    return { ok: ok === 1, used };
  }

  /** Ends a reservation keeping `keep` of its bytes counted (0: all given back); idempotent. */
  async finishBytes(identity: string, reservation: string, keep: number): Promise<void> {
    await this.scripts.quotaBytes(this.byteKeys(identity), ['finish', keep, 0, reservation]);
  }

  /** Claims `member` within `limit`, first dropping claims made before `staleBefore` (ms; 0: none). */
  async claim(
    quota: CountedQuota,
    identity: string,
    member: string,
    limit: number,
    now: Date,
    staleBefore = 0,
  ): Promise<MemberClaim> {
    const key = this.keys.quotaMembers(identity, quota);
    const [outcome, used] = await this.scripts.quotaClaim([key], [member, limit, now.getTime(), staleBefore]);
    return { ok: outcome !== 0, fresh: outcome === 1, used };
  }

  async unclaim(quota: CountedQuota, identity: string, members: readonly string[]): Promise<void> {
    if (members.length > 0) await this.redis.zrem(this.keys.quotaMembers(identity, quota), ...members);
  }

  /** Up to `count` members from `offset`, oldest claim first. */
  async oldest(quota: CountedQuota, identity: string, offset: number, count: number): Promise<ClaimedMember[]> {
    const flat = await this.redis.zrange(
      this.keys.quotaMembers(identity, quota),
      offset,
      offset + count - 1,
      'WITHSCORES',
    );
    const members: ClaimedMember[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) members.push({ member: flat[i]!, claimedAt: Number(flat[i + 1]) });
    return members;
  }

  /** What counts now (claims not pruned yet included). */
  async usage(identity: string): Promise<{ bytes: number; pointers: number; groups: number }> {
    const [bytes, pointers, groups] = await Promise.all([
      this.redis.hget(this.keys.quotaUsage(identity), 'bytes'),
      this.redis.zcard(this.keys.quotaMembers(identity, 'pointers')),
      this.redis.zcard(this.keys.quotaMembers(identity, 'groups')),
    ]);
    return { bytes: Number(bytes ?? 0), pointers, groups };
  }

  private byteKeys(identity: string): string[] {
    return [this.keys.quotaUsage(identity), this.keys.quotaReservations(identity)];
  }
}
