import { ConduitError } from '@conduit/shared';
import type { ConduitClient } from '@conduit/client';

/** How often a running `receive` checks it is still a member (env override, in seconds). */
export const ENV_MEMBERSHIP_CHECK = 'CONDUIT_MEMBERSHIP_CHECK_SECONDS';
const DEFAULT_CHECK_MS = 30_000;

export interface MembershipWatch {
  /** Aborts with `parent`, or once the group no longer lists this identity. */
  readonly signal: AbortSignal;
  /** Throws REMOVED_FROM_GROUP if that is why `signal` aborted. */
  throwIfRemoved(): void;
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
  let checking = false;
  const onParent = () => controller.abort();
  parent.addEventListener('abort', onParent, { once: true });
  const check = async () => {
    if (checking || controller.signal.aborted) return;
    checking = true;
    try {
      const view = await client.getGroup(groupId);
      removed = view.owner !== client.identity && !view.members.includes(client.identity);
    } catch (err) {
      removed = err instanceof ConduitError && (err.code === 'GROUP_NOT_FOUND' || err.code === 'NOT_GROUP_MEMBER');
    } finally {
      checking = false;
    }
    if (removed) controller.abort();
  };
  const timer = setInterval(() => void check(), checkIntervalMs());
  return {
    signal: controller.signal,
    throwIfRemoved: () => {
      if (removed) {
        throw new ConduitError(
          'REMOVED_FROM_GROUP',
          `${client.identity} was removed from group ${groupId} (or the group was deleted): receiving stopped.`,
        );
      }
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
