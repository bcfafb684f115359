import { GroupParams } from '@conduit/shared';
import { Router } from 'express';
import { restoreReader } from '../delivery/sync/heal.js';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput } from '../http/validate.js';

/**
 * POST /v1/groups/:groupId/sync: a member whose receive cannot open the group's Sync map (it was
 * deleted behind the server's back, or the member's grant was lost) asks the server to restore
 * it, instead of waiting for the next send or healing pass. Members only, checked first.
 */
export function groupSyncRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/groups/:groupId/sync')
    .post(authenticate(ctx), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { identity } = principalOf(res);
      await requireMembership(ctx, groupId, identity);
      await restoreReader(ctx, groupId, identity);
      res.status(204).end();
    })
    .all(methodNotAllowed);
  return router;
}
