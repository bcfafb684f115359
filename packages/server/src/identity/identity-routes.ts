import {
  ConduitError,
  DeleteIdentityRequest,
  IdentityDeletionReport,
  IdentityParams,
  RetiredCardList,
  type Principal,
} from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** OIDC mode: how recently the user must have signed in at the provider to delete the identity. */
export const REAUTH_MAX_AGE_SECONDS = 300;

/** The OpenAPI description of the routes below (http/openapi/). */
export const identityOperations: readonly ApiOperation[] = [
  {
    method: 'delete',
    path: '/identity',
    summary: "Delete the caller's identity (re-authentication required)",
    tag: 'auth',
    auth: 'session',
    body: DeleteIdentityRequest,
    responses: { 200: { description: 'What was deleted.', schema: IdentityDeletionReport } },
    errors: ['REAUTH_REQUIRED', 'INVALID_CREDENTIALS', 'LEGAL_HOLD', 'IDENTITY_OWNS_GROUPS'],
  },
  {
    method: 'get',
    path: '/identities/:identity/retired-cards',
    summary: "A deleted identity's cards, kept before the directory revoked them",
    tag: 'identities',
    auth: 'session',
    params: IdentityParams,
    responses: { 200: { description: 'The cards with their revocation times.', schema: RetiredCardList } },
    errors: ['IDENTITY_NOT_FOUND'],
  },
];

/**
 * DELETE /v1/identity: the caller deletes its own identity (docs/lifecycle.md#deleting-an-identity).
 * A session alone is not enough (a leaked device token must not erase an account): dev mode needs
 * a fresh OPAQUE login proof of the same identity, OIDC mode an ID token signed in to recently.
 */
export function identityRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/identity')
    .delete(authenticate(ctx), jsonBody, async (req, res) => {
      const body = parseInput(DeleteIdentityRequest, req.body ?? {}, 'body');
      const principal = principalOf(res);
      await reauthenticated(ctx, principal, body);
      const report = await ctx.identityDeletion.delete({
        identity: principal.identity,
        by: 'self',
        ...(body.withGroups ? { withGroups: true } : {}),
      });
      reply(res, 200, IdentityDeletionReport, report);
    })
    .all(methodNotAllowed);
  // GET /v1/identities/:identity/retired-cards: public keys the directory published before, to any
  // authenticated caller (as the directory itself answers); the SDK verifies them (lifecycle.md).
  router
    .route('/identities/:identity/retired-cards')
    .get(authenticate(ctx), async (req, res) => {
      const { identity } = parseInput(IdentityParams, req.params, 'path');
      const cards = await ctx.retiredCards.list(identity);
      if (cards.length === 0) throw new ConduitError('IDENTITY_NOT_FOUND', 'No retired cards for this identity.');
      reply(res, 200, RetiredCardList, { cards });
    })
    .all(methodNotAllowed);
  return router;
}

async function reauthenticated(ctx: AppContext, principal: Principal, body: DeleteIdentityRequest): Promise<void> {
  if (ctx.opaqueAccounts) {
    if (!body.loginId || !body.finishLoginRequest) throw new ConduitError('REAUTH_REQUIRED');
    // Single use, and only for the session's own identity: another account's proof proves nothing here.
    const proven = await ctx.opaqueAccounts.reauthenticate(body.loginId, body.finishLoginRequest);
    if (proven !== principal.identity) throw new ConduitError('INVALID_CREDENTIALS');
    return;
  }
  const age = principal.authTime === undefined ? Infinity : Date.now() / 1000 - principal.authTime;
  if (!(age <= REAUTH_MAX_AGE_SECONDS)) {
    throw new ConduitError(
      'REAUTH_REQUIRED',
      `Sign in at the identity provider again (within ${REAUTH_MAX_AGE_SECONDS} s) to delete the identity.`,
    );
  }
}
