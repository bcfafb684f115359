import { ConduitError } from '@conduit/shared';
import { participatingGroup } from '../groups/membership.js';
import type { GroupRecord, GroupRepository } from '../adapters/redis/groups.js';
import type { PointerLedger, PointerRecord } from '../adapters/redis/pointers.js';

/*
 * Authorisation, checked before any side effect. An outsider learns nothing from a refusal: a group
 * it does not belong to answers exactly like a group that does not exist (404 GROUP_NOT_FOUND), and
 * a pointer of such a group like an unknown pointer (404 POINTER_NOT_FOUND).
 */

/** What the checks read. */
export interface AccessDeps {
  groups: Pick<GroupRepository, 'getReady'>;
  ledger: Pick<PointerLedger, 'get'>;
}

/** The ready group if the identity is its owner or a member; 404 GROUP_NOT_FOUND otherwise. */
export async function requireMembership(deps: AccessDeps, groupId: string, identity: string): Promise<GroupRecord> {
  const group = await participatingGroup(deps.groups, groupId, identity);
  if (!group) throw new ConduitError('GROUP_NOT_FOUND');
  return group;
}

/** The ready group if the identity owns it: 404 for outsiders (as above), 403 FORBIDDEN for members. */
export async function requireOwner(deps: AccessDeps, groupId: string, identity: string): Promise<GroupRecord> {
  const group = await requireMembership(deps, groupId, identity);
  if (group.owner !== identity) throw new ConduitError('FORBIDDEN', 'Only the group owner may do this.');
  return group;
}

/** A pointer whose group the identity belongs to; 404 POINTER_NOT_FOUND otherwise. */
export async function requirePointerAccess(
  deps: AccessDeps,
  pointerId: string,
  identity: string,
): Promise<PointerRecord> {
  const pointer = await deps.ledger.get(pointerId);
  const group = pointer ? await participatingGroup(deps.groups, pointer.groupId, identity) : null;
  if (!pointer || !group) throw new ConduitError('POINTER_NOT_FOUND');
  return pointer;
}

/**
 * A pointer the identity may withdraw: its sender's (any device) or its group owner's. Outsiders
 * get 404 POINTER_NOT_FOUND as for an unknown pointer, other members 403 FORBIDDEN.
 */
export async function requireWithdrawRight(
  deps: AccessDeps,
  pointerId: string,
  identity: string,
): Promise<{ pointer: PointerRecord; group: GroupRecord }> {
  const pointer = await deps.ledger.get(pointerId);
  const group = pointer ? await participatingGroup(deps.groups, pointer.groupId, identity) : null;
  if (!pointer || !group) throw new ConduitError('POINTER_NOT_FOUND');
  if (pointer.sender.identity !== identity && group.owner !== identity)
    throw new ConduitError('FORBIDDEN', "Only the file's sender or the group owner may withdraw it.");
  return { pointer, group };
}
