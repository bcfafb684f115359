import { participantsOf, type GroupRecord, type GroupRepository } from '../adapters/redis/groups.js';

/**
 * The one membership rule: the group if it is ready and the identity is its owner or a member,
 * null otherwise. Route access checks (http/access.ts) and the ledger's recipient snapshot
 * (files/pointer-registry.ts) both ask it.
 */
export async function participatingGroup(
  groups: Pick<GroupRepository, 'getReady'>,
  groupId: string,
  identity: string,
): Promise<GroupRecord | null> {
  const group = await groups.getReady(groupId);
  return group && participantsOf(group).includes(identity) ? group : null;
}
