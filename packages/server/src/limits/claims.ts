import { DEFAULTS, type ServerConfig } from '../config.js';
import type { GroupRepository } from '../adapters/redis/groups.js';
import type { PointerLedger } from '../adapters/redis/pointers.js';
import type { CountedQuota } from '../adapters/redis/quotas.js';
import type { StillCounts } from './quotas.js';

/**
 * A claim is made just before its write: one younger than this whose pointer or group does not
 * exist yet is a request in flight, not a leftover, and keeps counting.
 */
export const CLAIM_GRACE_MS = 60_000;

/** A pending-pointer claim names the group too, so checking it costs one read (ids are hex). */
export const pointerClaim = (groupId: string, pointerId: string): string => `${groupId}/${pointerId}`;

/**
 * What still counts: a pointer the ledger holds as 'pending'; a group (in any state) the identity
 * owns. A claim whose write failed without being released (a crash) stops counting after the grace.
 */
export function stillCounts(
  deps: { ledger: Pick<PointerLedger, 'stateOf'>; groups: Pick<GroupRepository, 'get'> },
  now: () => number = Date.now,
): Record<CountedQuota, StillCounts> {
  const inFlight = (claimedAt: number) => now() - claimedAt < CLAIM_GRACE_MS;
  return {
    pointers: async (_identity, member, claimedAt) => {
      const [groupId = '', pointerId = ''] = member.split('/');
      const state = await deps.ledger.stateOf(pointerId, groupId);
      return state === 'pending' || (state === null && inFlight(claimedAt));
    },
    groups: async (identity, groupId, claimedAt) => {
      const group = await deps.groups.get(groupId);
      return group ? group.owner === identity : inFlight(claimedAt);
    },
  };
}

/**
 * No pointer stays pending past its maximum age: the sweeper expires it within a sweep interval.
 * Two intervals of slack cover a sweep that ran late.
 */
export function pointerClaimLifetimeMs(config: Pick<ServerConfig, 'delivery'>): number {
  const { pointerMaxAgeSeconds, sweepIntervalSeconds } = { ...DEFAULTS, ...config.delivery };
  return (pointerMaxAgeSeconds + 2 * sweepIntervalSeconds) * 1000;
}
