import { SyncTokenResponse, VirgilTokenResponse } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, methodNotAllowed, principalOf } from '../http/middleware.js';
import { reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const tokenOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/tokens/virgil',
    summary: "A Virgil JWT for the caller's identity",
    tag: 'tokens',
    auth: 'session',
    responses: { 200: { description: 'The token.', schema: VirgilTokenResponse } },
  },
  {
    method: 'get',
    path: '/tokens/sync',
    summary: "A Twilio Sync access token for the caller's identity",
    tag: 'tokens',
    auth: 'session',
    responses: { 200: { description: 'The token.', schema: SyncTokenResponse } },
  },
];

/** GET /v1/tokens/virgil and /v1/tokens/sync: short-lived tokens bound to the caller's identity. */
export function tokenRoutes(ctx: AppContext): Router {
  const router = Router();

  router
    .route('/tokens/virgil')
    .get(authenticate(ctx), async (_req, res) => {
      const token = await ctx.virgilTokens.issue(principalOf(res).identity);
      reply(res, 200, VirgilTokenResponse, { token: token.value, expiresAt: token.expiresAt.toISOString() });
    })
    .all(methodNotAllowed);

  router
    .route('/tokens/sync')
    .get(authenticate(ctx), async (_req, res) => {
      const { identity } = principalOf(res);
      const token = await ctx.syncTokens.issue(identity);
      reply(res, 200, SyncTokenResponse, { token: token.value, identity, expiresAt: token.expiresAt.toISOString() });
    })
    .all(methodNotAllowed);

  return router;
}
