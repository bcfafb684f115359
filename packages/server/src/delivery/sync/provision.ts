import { ConduitError, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';

const PARALLEL = 8;

/**
 * Creates a group's Sync map and grants access: read-only for every participant, the owner
 * included. Only the server writes the map (REST, publishing what the ledger bound), so no member
 * can overwrite, delete or forge another's pointer. Everyone else has no access at all.
 * Idempotent, so a failed attempt can simply be repeated. 'exists' when the map was there already.
 */
const READ_ONLY = { read: true, write: false, manage: false } as const;

export async function provisionGroupMap(
  syncAdmin: SyncAdmin,
  groupId: string,
  owner: string,
  members: readonly string[],
): Promise<'created' | 'exists'> {
  const map = syncMapOf(groupId);
  try {
    const outcome = await syncAdmin.ensureMap(map);
    await syncAdmin.setMapPermissions(map, owner, READ_ONLY);
    for (let i = 0; i < members.length; i += PARALLEL) {
      await Promise.all(members.slice(i, i + PARALLEL).map((m) => syncAdmin.setMapPermissions(map, m, READ_ONLY)));
    }
    return outcome;
  } catch (cause) {
    if (cause instanceof ConduitError && cause.status >= 400) throw cause;
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Twilio Sync is unavailable.', undefined, { cause });
  }
}

/**
 * Makes sure the map exists and `identity` may read it: one ensure and one grant. 'created' when
 * the map was missing (the caller must then grant everyone else: see reprovisionMap).
 */
export async function grantReader(
  syncAdmin: SyncAdmin,
  groupId: string,
  identity: string,
): Promise<'created' | 'exists'> {
  const map = syncMapOf(groupId);
  try {
    const outcome = await syncAdmin.ensureMap(map);
    await syncAdmin.setMapPermissions(map, identity, READ_ONLY);
    return outcome;
  } catch (cause) {
    if (cause instanceof ConduitError && cause.status >= 400) throw cause;
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Twilio Sync is unavailable.', undefined, { cause });
  }
}
