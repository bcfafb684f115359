import { GroupParams, GroupRetentionPolicy, GroupRetentionView } from '@conduit/shared';
import { Router } from 'express';
import { requireMembership, requireOwner } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const retentionOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/groups/:groupId/retention',
    summary: "The group's retention rules and the ones in effect (members only)",
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    responses: {
      200: { description: "The group's own rules and, per class, the effective one.", schema: GroupRetentionView },
    },
    errors: ['GROUP_NOT_FOUND'],
  },
  {
    method: 'put',
    path: '/groups/:groupId/retention',
    summary: "Replace the group's retention rules (owner only; {} follows the deployment)",
    tag: 'groups',
    auth: 'session',
    params: GroupParams,
    body: GroupRetentionPolicy,
    responses: { 200: { description: 'The rules now in effect.', schema: GroupRetentionView } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN'],
  },
];

/**
 * GET /v1/groups/:groupId/retention (members: the group's rules, the effective ones and where each
 * comes from) and PUT (the owner replaces the group's rules; docs/lifecycle.md#policies).
 */
export function retentionRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/groups/:groupId/retention')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, GroupRetentionView, await ctx.lifecycle.policies.view(groupId));
    })
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const caller = principalOf(res).identity;
      // Owner before the body: an outsider learns nothing, not even that its body was wrong.
      await requireOwner(ctx.access, groupId, caller);
      const policy = parseInput(GroupRetentionPolicy, req.body, 'body');
      reply(res, 200, GroupRetentionView, await ctx.lifecycle.policies.set(groupId, caller, policy));
    })
    .all(methodNotAllowed);
  return router;
}
