import {
  AddMembersRequest,
  ConduitError,
  CreateGroupRequest,
  GroupList,
  GroupMemberParams,
  GroupParams,
  GroupView,
  MAX_GROUP_MEMBERS,
  SetNameRequest,
  syncMapOf,
} from '@conduit/shared';
import { Router } from 'express';
import { participantsOf, type GroupRecord } from '../redis/groups.js';
import { removeMember } from '../delivery/departures.js';
import { provisionGroupMap } from '../delivery/sync/provision.js';
import { requireMembership, requireOwner } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';

const view = (g: GroupRecord): GroupView => ({
  groupId: g.groupId,
  owner: g.owner,
  members: g.members,
  syncMap: syncMapOf(g.groupId),
  createdAt: g.createdAt,
  ...(g.sealedName ? { sealedName: g.sealedName } : {}),
});

const sameMembers = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((m, i) => m === b[i]);

/**
 * POST /v1/groups (caller = owner), GET /v1/groups (the caller's groups), GET /v1/groups/:groupId
 * (members only), POST /v1/groups/:groupId/members (the owner adds members) and
 * DELETE /v1/groups/:groupId/members/:identity (the owner removes a member, or a member leaves),
 * PUT /v1/groups/:groupId/name (the owner renames it; the name is sealed, the server stores it only).
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
    .get(authenticate(ctx), async (_req, res) => {
      const identity = principalOf(res).identity;
      const groups = await Promise.all((await ctx.groups.groupsOf(identity)).map((g) => ctx.groups.getReady(g)));
      // The index is maintained with membership; the filter only guards a removal landing meanwhile.
      const mine = groups.filter((g): g is GroupRecord => g !== null && participantsOf(g).includes(identity));
      reply(res, 200, GroupList, { groups: mine.map(view) });
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
    .route('/groups/:groupId/members')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const body = parseInput(AddMembersRequest, req.body, 'body');
      const caller = principalOf(res).identity;
      // E3Kit lets only the group's creator change it, so only the owner adds members.
      const group = await requireOwner(ctx, groupId, caller);
      const members = [...new Set(body.members)].filter((m) => m !== group.owner).sort();
      const unknown = await ctx.identities.unknown(members);
      if (unknown.length > 0) {
        throw new ConduitError('IDENTITY_NOT_FOUND', 'Some members are not registered.', { identities: unknown });
      }
      const result = await ctx.groups.addMembers(groupId, members, MAX_GROUP_MEMBERS);
      if (!result.ok && result.reason === 'NOT_READY') throw new ConduitError('GROUP_NOT_FOUND');
      if (!result.ok) {
        throw new ConduitError(
          'VALIDATION_FAILED',
          `E3Kit groups hold at most ${MAX_GROUP_MEMBERS} participants, the owner included: ` +
            'share with a new group for the extra members instead.',
        );
      }
      // Every requested member, not only the new ones: repeating the request after a Sync failure
      // finishes granting access (provisioning is idempotent).
      await provisionGroupMap(ctx.syncAdmin, groupId, group.owner, members);
      if (result.added.length > 0) {
        await ctx.audit.append({
          type: 'member-added',
          at: new Date().toISOString(),
          groupId,
          identities: result.added,
          by: caller,
        });
      }
      const updated = await ctx.groups.getReady(groupId);
      if (!updated) throw new Error('Group vanished after adding members.');
      reply(res, 200, GroupView, view(updated));
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/name')
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { sealedName } = parseInput(SetNameRequest, req.body, 'body');
      const caller = principalOf(res).identity;
      // Members would reject a name not signed by the owner anyway; refusing it here keeps one
      // member from blanking the name for everyone.
      await requireOwner(ctx, groupId, caller);
      if (!(await ctx.groups.setName(groupId, sealedName))) throw new ConduitError('GROUP_NOT_FOUND');
      // The audit log records that a rename happened, never the (sealed) name.
      await ctx.audit.append({ type: 'group-renamed', at: new Date().toISOString(), groupId, by: caller });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/members/:identity')
    .delete(authenticate(ctx), async (req, res) => {
      const { groupId, identity } = parseInput(GroupMemberParams, req.params, 'path');
      const caller = principalOf(res).identity;
      // Participants only, before anything else (even OWNER_CANNOT_LEAVE would reveal the owner).
      const group = await requireMembership(ctx, groupId, caller);
      if (identity === group.owner) throw new ConduitError('OWNER_CANNOT_LEAVE');
      // Only the owner removes others, and repeats a removal that failed half-way (a member that
      // left is an outsider from the moment its membership is gone).
      if (caller !== group.owner && caller !== identity) throw new ConduitError('FORBIDDEN');
      await removeMember(ctx, { groupId, identity, by: caller });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return router;
}
