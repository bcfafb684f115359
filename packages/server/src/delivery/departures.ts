import { ConduitError, syncMapOf, type Endpoint, type SyncAdmin } from '@conduit/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { deviceRemoved, memberRemoved } from '../audit/entries.js';
import type { DeviceRepository } from '../adapters/redis/devices.js';
import type { GroupRepository } from '../adapters/redis/groups.js';
import type { PointerLedger } from '../adapters/redis/pointers.js';

/**
 * Members leaving and devices being revoked: their pending acknowledgements are dropped from every
 * pending pointer of the group (so purges never wait on them; a pointer left with nobody to wait
 * for goes to purge in the same atomic step), Sync access is revoked, and the change is audited.
 * Every step is idempotent, so a failed request can simply be repeated.
 */
export interface DepartureDeps {
  groups: GroupRepository;
  devices: DeviceRepository;
  ledger: PointerLedger;
  syncAdmin: SyncAdmin;
  audit: AuditLog;
}

export interface DropTotals {
  droppedAcks: number;
  purgesEnqueued: number;
}

export async function dropPendingAcks(
  ledger: PointerLedger,
  groupId: string,
  endpoints: readonly Endpoint[],
  reason: 'member-removed' | 'device-removed',
): Promise<DropTotals> {
  const totals: DropTotals = { droppedAcks: 0, purgesEnqueued: 0 };
  if (endpoints.length === 0) return totals;
  for await (const ids of ledger.pendingInGroup(groupId)) {
    for (const id of ids) {
      const r = await ledger.dropEndpoints(id, groupId, endpoints, reason);
      totals.droppedAcks += r.dropped;
      if (r.purging) totals.purgesEnqueued += 1;
    }
  }
  return totals;
}

export async function removeMember(
  deps: DepartureDeps,
  input: { groupId: string; identity: string; by: string },
): Promise<DropTotals & { wasMember: boolean }> {
  const { groupId, identity } = input;
  // Sync access before membership: if Twilio fails, the identity is still a member and may repeat
  // its own leave (the routes refuse outsiders, departed members included).
  let syncAccess: 'removed' | 'absent';
  try {
    syncAccess = await deps.syncAdmin.removeMapPermissions(syncMapOf(groupId), identity);
  } catch (cause) {
    if (cause instanceof ConduitError && cause.status >= 400 && cause.status < 500) throw cause;
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Twilio Sync is unavailable.', undefined, { cause });
  }
  // From here on no new pointer expects this identity (the epoch bump makes an in-flight
  // registration recompute), and the routes refuse it.
  const wasMember = await deps.groups.removeMember(groupId, identity);
  const devices = (await deps.devices.ofMany([identity])).get(identity) ?? [];
  const totals = await dropPendingAcks(
    deps.ledger,
    groupId,
    devices.map((deviceId) => ({ identity, deviceId })),
    'member-removed',
  );
  if (wasMember || syncAccess === 'removed' || totals.droppedAcks > 0) {
    await deps.audit.append(
      memberRemoved({
        ...input,
        at: new Date(),
        ...totals,
        syncAccess: syncAccess === 'removed' ? 'revoked' : 'absent',
      }),
    );
  }
  return { ...totals, wasMember };
}

export async function removeDevice(
  deps: DepartureDeps,
  input: { identity: string; deviceId: string },
): Promise<DropTotals & { wasRegistered: boolean }> {
  // Revoked first: from here on the device's sessions are refused on every route.
  const wasRegistered = await deps.devices.revoke(input.identity, input.deviceId);
  const groups = await deps.groups.groupsOf(input.identity);
  // After the device is gone, so a registration that re-reads devices no longer sees it.
  await deps.groups.bumpEpochs(groups);
  const totals: DropTotals = { droppedAcks: 0, purgesEnqueued: 0 };
  for (const groupId of groups) {
    const r = await dropPendingAcks(deps.ledger, groupId, [input], 'device-removed');
    totals.droppedAcks += r.droppedAcks;
    totals.purgesEnqueued += r.purgesEnqueued;
  }
  if (wasRegistered || totals.droppedAcks > 0) {
    await deps.audit.append(deviceRemoved({ ...input, at: new Date(), groups: groups.length, ...totals }));
  }
  return { ...totals, wasRegistered };
}
