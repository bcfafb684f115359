import { ConduitError, GroupMemberParams, MemberDeviceList } from '@conduit/shared';
import { Router } from 'express';
import { participantsOf } from '../redis/groups.js';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';

/**
 * GET /v1/groups/:groupId/members/:identity/devices: a co-member's devices with their creation
 * and revocation times, so a receiver can refuse an envelope from a device that is not the
 * sender's or was revoked before the pointer was sent. Members of the group only.
 */
export function memberDeviceRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/groups/:groupId/members/:identity/devices')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, identity } = parseInput(GroupMemberParams, req.params, 'path');
      const group = await requireMembership(ctx, groupId, principalOf(res).identity);
      if (!participantsOf(group).includes(identity)) throw new ConduitError('NOT_FOUND', 'No such member.');
      reply(res, 200, MemberDeviceList, { identity, devices: await ctx.devices.history(identity) });
    })
    .all(methodNotAllowed);
  return router;
}
