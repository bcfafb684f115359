import { ConduitError } from '@conduit/shared';
import type { GroupRecord } from '../redis/groups.js';
import type { AppContext } from './context.js';

/** The ready group if the identity belongs to it: 404 when absent, 403 when not a member. */
export async function requireMembership(ctx: AppContext, groupId: string, identity: string): Promise<GroupRecord> {
  const group = await ctx.groups.getReady(groupId);
  if (!group) throw new ConduitError('GROUP_NOT_FOUND');
  if (group.owner !== identity && !group.members.includes(identity)) throw new ConduitError('NOT_GROUP_MEMBER');
  return group;
}
