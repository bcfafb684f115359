import {
  AddMembersRequest,
  CreateGroupRequest,
  GroupList,
  GroupMemberParams,
  GroupDeleting,
  GroupParams,
  GroupView,
  MemberDeviceList,
  SetNameRequest,
  syncMapOf,
} from '@conduit/shared';
import { Router } from 'express';
import type { GroupRecord } from '../adapters/redis/groups.js';
import { requireMembership, requireOwner } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

const view = (g: GroupRecord): GroupView => ({
  groupId: g.groupId,
  owner: g.owner,
  members: g.members,
  syncMap: syncMapOf(g.groupId),
  createdAt: g.createdAt,
  ...(g.sealedName ? { sealedName: g.sealedName } : {}),
});

/** The OpenAPI description of the routes below (http/openapi/). */
export const groupOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/groups',
    summary: 'Create a group owned by the caller',
    tag: 'groups',
    auth: 'session',
    body: CreateGroupRequest,
    responses: { 201: { description: 'The group.', schema: GroupView } },
    errors: ['IDENTITY_NOT_FOUND', 'GROUP_EXISTS', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'get',
    path: '/groups',
    summary: "The caller's groups",
    tag: 'groups',
    auth: 'session',
    responses: { 200: { description: 'Groups the caller owns or belongs to.', schema: GroupList } },
  },
  {
    method: 'get',
    path: '/groups/:groupId',
    summary: 'A group (members only)',
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    responses: { 200: { description: 'The group.', schema: GroupView } },
    errors: ['GROUP_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/groups/:groupId',
    summary: 'Delete the group with everything it stored (owner only); the worker finishes it',
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    responses: { 202: { description: 'Tombstoned: every group route now answers 404.', schema: GroupDeleting } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN', 'LEGAL_HOLD'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/members',
    summary: 'Add members (owner only)',
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    body: AddMembersRequest,
    responses: { 200: { description: 'The group.', schema: GroupView } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN', 'IDENTITY_NOT_FOUND'],
  },
  {
    method: 'put',
    path: '/groups/:groupId/name',
    summary: "Replace the group's sealed name (owner only)",
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    body: SetNameRequest,
    responses: { 204: { description: 'Renamed.' } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN'],
  },
  {
    method: 'delete',
    path: '/groups/:groupId/members/:identity',
    summary: 'Remove a member, or leave',
    tag: 'groups',
    auth: 'session',
    params: GroupMemberParams,
    responses: { 204: { description: 'Removed (idempotent for the owner).' } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN', 'OWNER_CANNOT_LEAVE'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/members/:identity/devices',
    summary: "A co-member's devices, revoked ones with their revocation time",
    tag: 'groups',
    auth: 'session',
    params: GroupMemberParams,
    responses: { 200: { description: 'The member and their devices.', schema: MemberDeviceList } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/sync',
    summary: "Restore the group's Sync map and the caller's read grant",
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    responses: { 204: { description: 'Restored.' } },
    errors: ['GROUP_NOT_FOUND'],
  },
];

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
      const group = await ctx.groups.create(body.groupId, principalOf(res).identity, body.members);
      reply(res, 201, GroupView, view(group));
    })
    .get(authenticate(ctx), async (_req, res) => {
      const mine = await ctx.groups.listFor(principalOf(res).identity);
      reply(res, 200, GroupList, { groups: mine.map(view) });
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const group = await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, GroupView, view(group));
    })
    // DELETE: the owner deletes the group (lifecycle/group-deletion.ts): tombstoned now, emptied by the worker.
    .delete(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { identity } = principalOf(res);
      await requireOwner(ctx.access, groupId, identity);
      const { state } = await ctx.groupDeletion.delete(groupId, identity);
      reply(res, 202, GroupDeleting, { groupId, state });
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/members')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const body = parseInput(AddMembersRequest, req.body, 'body');
      const caller = principalOf(res).identity;
      const group = await requireOwner(ctx.access, groupId, caller);
      reply(res, 200, GroupView, view(await ctx.groups.addMembers(group, caller, body.members)));
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
      await requireOwner(ctx.access, groupId, caller);
      await ctx.groups.rename(groupId, caller, sealedName);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/members/:identity')
    .delete(authenticate(ctx), async (req, res) => {
      const { groupId, identity } = parseInput(GroupMemberParams, req.params, 'path');
      const caller = principalOf(res).identity;
      // Participants only, before anything else (even OWNER_CANNOT_LEAVE would reveal the owner).
      const group = await requireMembership(ctx.access, groupId, caller);
      await ctx.groups.removeMember(group, caller, identity);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/members/:identity/devices: a co-member's devices with their creation
  // and revocation times, so a receiver can refuse an envelope from a device that is not the
  // sender's or was revoked before the pointer was sent. Members of the group only.
  router
    .route('/groups/:groupId/members/:identity/devices')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, identity } = parseInput(GroupMemberParams, req.params, 'path');
      const group = await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, MemberDeviceList, { identity, devices: await ctx.groups.memberDevices(group, identity) });
    })
    .all(methodNotAllowed);

  // POST /v1/groups/:groupId/sync: a member whose receive cannot open the group's Sync map (it was
  // deleted behind the server's back, or the member's grant was lost) asks the server to restore
  // it, instead of waiting for the next send or healing pass. Members only, checked first.
  router
    .route('/groups/:groupId/sync')
    .post(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { identity } = principalOf(res);
      await requireMembership(ctx.access, groupId, identity);
      await ctx.groups.restoreReader(groupId, identity);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return router;
}
