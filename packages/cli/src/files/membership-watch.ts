import { ConduitError } from '@conduit/shared';
import type { ConduitClient } from '@conduit/client';

/** How often a running `receive` checks it is still a member (env override, in seconds). */
export const ENV_MEMBERSHIP_CHECK = 'CONDUIT_MEMBERSHIP_CHECK_SECONDS';
const DEFAULT_CHECK_MS = 30_000;
/** What a receive meets when the group's map (or the group) is no longer open to this identity. */
const LOST_ACCESS = new Set(['GROUP_NOT_FOUND', 'NOT_GROUP_MEMBER', 'FORBIDDEN']);

export interface MembershipWatch {
  /** Aborts with `parent`, or once the group no longer lists this identity. */
  readonly signal: AbortSignal;
  /** Throws REMOVED_FROM_GROUP if that is why `signal` aborted. */
  throwIfRemoved(): void;
  /**
   * Explains a failed receive: the feed can meet a removal before the next periodic check does
   * (its map access is gone first), so a lost-access error asks once more. Always throws.
   */
  explain(err: unknown): Promise<never>;
  dispose(): void;
}

/**
 * A removed member's Sync access ends, but twilio-sync does not reliably tell a quiet subscription
 * (the service, like the emulator, notices only at the map's next event): so the group is asked
 * periodically. Only a definite answer counts (the group is gone or no longer lists this
 * identity); outages and expired sessions leave receiving running.
 */
export function watchMembership(client: ConduitClient, groupId: string, parent: AbortSignal): MembershipWatch {
  const controller = new AbortController();
  let removed = false;
  let inFlight: Promise<void> | undefined;
  const onParent = () => controller.abort();
  parent.addEventListener('abort', onParent, { once: true });
  const ask = async () => {
    try {
      const view = await client.getGroup(groupId);
      removed = view.owner !== client.identity && !view.members.includes(client.identity);
    } catch (err) {
      removed = err instanceof ConduitError && (err.code === 'GROUP_NOT_FOUND' || err.code === 'NOT_GROUP_MEMBER');
    }
    if (removed) controller.abort();
  };
  // One question at a time: a caller arriving during a periodic check waits for its answer.
  const check = (): Promise<void> => {
    if (controller.signal.aborted) return Promise.resolve();
    inFlight ??= ask().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const throwIfRemoved = () => {
    if (removed) {
      throw new ConduitError(
        'REMOVED_FROM_GROUP',
        `${client.identity} was removed from group ${groupId} (or the group was deleted): receiving stopped.`,
      );
    }
  };
  const timer = setInterval(() => void check(), checkIntervalMs());
  return {
    signal: controller.signal,
    throwIfRemoved,
    explain: async (err) => {
      if (err instanceof ConduitError && LOST_ACCESS.has(err.code)) await check();
      throwIfRemoved();
      throw err;
    },
    dispose: () => {
      clearInterval(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}

function checkIntervalMs(): number {
  const seconds = Number(process.env[ENV_MEMBERSHIP_CHECK]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_CHECK_MS;
}
