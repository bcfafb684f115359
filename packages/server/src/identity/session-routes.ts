import { LogoutResponse } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, methodNotAllowed, principalOf } from '../http/middleware.js';
import { reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const sessionOperations: readonly ApiOperation[] = [
  {
    method: 'delete',
    path: '/session',
    summary: 'Log out: end every session of the calling device',
    tag: 'auth',
    auth: 'enrollment',
    responses: { 200: { description: "`ended` is false for an identity provider's token.", schema: LogoutResponse } },
  },
];

/**
 * DELETE /v1/session: a logout. Ends every Conduit session of the calling device (its device
 * session epoch moves past them), so a copied token of that device stops working at once; the
 * identity's other devices keep theirs. An unenrolled device may log out too. Tokens of an
 * identity provider are the provider's to end: `ended` is false for them.
 */
export function sessionRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/session')
    .delete(authenticate(ctx, { enrollment: true }), async (_req, res) => {
      const principal = principalOf(res);
      const own = principal.deviceSessionEpoch !== undefined;
      if (own) await ctx.sessionState.endDevice(principal.identity, callerDevice(res));
      reply(res, 200, LogoutResponse, { ended: own });
    })
    .all(methodNotAllowed);
  return router;
}
