import { LogoutResponse, RefreshSessionRequest, SessionResponse } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import {
  authenticate,
  callerDevice,
  clientAddress,
  jsonBody,
  methodNotAllowed,
  principalOf,
} from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';
import { sessionBody } from './session-body.js';

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

/** POST /session/refresh, served in dev auth mode only. */
export const refreshOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/session/refresh',
    summary: "Trade the device's refresh token for a new session and the next refresh token",
    tag: 'auth',
    auth: 'none',
    body: RefreshSessionRequest,
    responses: { 200: { description: 'A new session and refresh token of the device.', schema: SessionResponse } },
    errors: ['REFRESH_TOKEN_REUSED', 'ACCOUNT_LOCKED', 'DEVICE_REVOKED', 'UNAUTHENTICATED'],
  },
];

/**
 * DELETE /v1/session: a logout. Ends every Conduit session of the calling device (its device
 * session epoch moves past them, which ends its refresh token too), so a copied token of that
 * device stops working at once; the identity's other devices keep theirs. An unenrolled device
 * may log out too. Tokens of an identity provider are the provider's to end: `ended` is false.
 *
 * POST /v1/session/refresh (dev auth mode): trades the device's refresh token for a new session
 * and the next refresh token, without the password. Unauthenticated (the access token may have
 * expired), so it is rate limited like the password routes.
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

  const { devSessions } = ctx;
  if (devSessions) {
    router
      .route('/session/refresh')
      .post(jsonBody, async (req, res) => {
        const { identity, deviceId, refreshToken } = parseInput(RefreshSessionRequest, req.body, 'body');
        await ctx.authRate.take(identity, clientAddress(req));
        const session = await devSessions.renew(identity, deviceId, refreshToken);
        reply(res, 200, SessionResponse, sessionBody(identity, session));
      })
      .all(methodNotAllowed);
  }
  return router;
}
