import { ConduitError } from '@conduit/shared';
import { participantsOf, type GroupRecord } from '../redis/groups.js';
import type { PointerRecord } from '../redis/pointers.js';
import type { AppContext } from './context.js';

/*
 * Authorisation, checked before any side effect. An outsider learns nothing from a refusal: a group
 * it does not belong to answers exactly like a group that does not exist (404 GROUP_NOT_FOUND), and
 * a pointer of such a group like an unknown pointer (404 POINTER_NOT_FOUND).
 */

/** The ready group if the identity is its owner or a member; 404 GROUP_NOT_FOUND otherwise. */
export async function requireMembership(ctx: AppContext, groupId: string, identity: string): Promise<GroupRecord> {
  const group = await ctx.groups.getReady(groupId);
  if (!group || !participantsOf(group).includes(identity)) throw new ConduitError('GROUP_NOT_FOUND');
  return group;
}

/** The ready group if the identity owns it: 404 for outsiders (as above), 403 FORBIDDEN for members. */
export async function requireOwner(ctx: AppContext, groupId: string, identity: string): Promise<GroupRecord> {
  const group = await requireMembership(ctx, groupId, identity);
  if (group.owner !== identity) throw new ConduitError('FORBIDDEN', 'Only the group owner may do this.');
  return group;
}

/** A pointer whose group the identity belongs to; 404 POINTER_NOT_FOUND otherwise. */
export async function requirePointerAccess(
  ctx: AppContext,
  pointerId: string,
  identity: string,
): Promise<PointerRecord> {
  const pointer = await ctx.ledger.get(pointerId);
  const group = pointer ? await ctx.groups.getReady(pointer.groupId) : null;
  if (!pointer || !group || !participantsOf(group).includes(identity)) throw new ConduitError('POINTER_NOT_FOUND');
  return pointer;
}
