import {
  ConduitError,
  CreateGroupRequest,
  GroupMemberParams,
  GroupParams,
  GroupView,
  syncMapOf,
} from '@conduit/shared';
import { Router } from 'express';
import type { GroupRecord } from '../../redis/groups.js';
import { removeMember } from '../../purge/departures.js';
import { provisionGroupMap } from '../../sync/provision.js';
import { requireMembership } from '../access.js';
import type { AppContext } from '../context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

const view = (g: GroupRecord): GroupView => ({
  groupId: g.groupId,
  owner: g.owner,
  members: g.members,
  syncMap: syncMapOf(g.groupId),
  createdAt: g.createdAt,
});

const sameMembers = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((m, i) => m === b[i]);

/**
 * POST /v1/groups (caller = owner), GET /v1/groups/:groupId (members only) and
 * DELETE /v1/groups/:groupId/members/:identity (the owner removes a member, or a member leaves).
 */
export function groupRoutes(ctx: AppContext): Router {
  const router = Router();

  router
    .route('/groups')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const body = parseInput(CreateGroupRequest, req.body, 'body');
      const owner = principalOf(res).identity;
      const members = [...new Set(body.members)].filter((m) => m !== owner).sort();
      const unknown = await ctx.identities.unknown(members);
      if (unknown.length > 0) {
        throw new ConduitError('IDENTITY_NOT_FOUND', 'Some members are not registered.', { identities: unknown });
      }

      if (!(await ctx.groups.create(body.groupId, owner, members, new Date()))) {
        // Only the same owner repeating the same request may finish an interrupted provisioning;
        // anything else would grant Sync access to a group the caller does not own.
        const existing = await ctx.groups.get(body.groupId);
        const resumable =
          existing?.state === 'provisioning' && existing.owner === owner && sameMembers(existing.members, members);
        if (!resumable) throw new ConduitError('GROUP_EXISTS');
      }
      await provisionGroupMap(ctx.syncAdmin, body.groupId, owner, members);
      await ctx.groups.markReady(body.groupId);
      const group = await ctx.groups.getReady(body.groupId);
      if (!group) throw new Error('Group vanished after provisioning.');
      reply(res, 201, GroupView, view(group));
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const group = await requireMembership(ctx, groupId, principalOf(res).identity);
      reply(res, 200, GroupView, view(group));
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/members/:identity')
    .delete(authenticate(ctx), async (req, res) => {
      const { groupId, identity } = parseInput(GroupMemberParams, req.params, 'path');
      const caller = principalOf(res).identity;
      const group = await ctx.groups.getReady(groupId);
      if (!group) throw new ConduitError('GROUP_NOT_FOUND');
      if (identity === group.owner) throw new ConduitError('OWNER_CANNOT_LEAVE');
      // Only the owner removes others. Repeating a removal (after a failure half-way) is allowed
      // to the owner and to the member itself, and finishes the cleanup.
      if (caller !== group.owner && caller !== identity) {
        throw new ConduitError(group.members.includes(caller) ? 'FORBIDDEN' : 'NOT_GROUP_MEMBER');
      }
      await removeMember(ctx, { groupId, identity, by: caller });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return router;
}
