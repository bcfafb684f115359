import { ConduitError, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';

const PARALLEL = 8;

/**
 * Creates a group's Sync map and grants access: members read+write (to publish pointers), the
 * owner also manage. Everyone else has no access, which is what keeps other users out of the map.
 * Idempotent, so a failed attempt can simply be repeated.
 */
export async function provisionGroupMap(
  syncAdmin: SyncAdmin,
  groupId: string,
  owner: string,
  members: readonly string[],
): Promise<void> {
  const map = syncMapOf(groupId);
  try {
    await syncAdmin.ensureMap(map);
    await syncAdmin.setMapPermissions(map, owner, { read: true, write: true, manage: true });
    for (let i = 0; i < members.length; i += PARALLEL) {
      await Promise.all(
        members
          .slice(i, i + PARALLEL)
          .map((m) => syncAdmin.setMapPermissions(map, m, { read: true, write: true, manage: false })),
      );
    }
  } catch (cause) {
    if (cause instanceof ConduitError && cause.status >= 400) throw cause;
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Twilio Sync is unavailable.', undefined, { cause });
  }
}
