import { IdentityParams, KeyTransition, KeyTransitionList } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const keyTransitionOperations: readonly ApiOperation[] = [
  {
    method: 'put',
    path: '/identities/me/key-transitions',
    summary: "Publish a statement signed by the caller's previous key",
    tag: 'identities',
    auth: 'session',
    body: KeyTransition,
    responses: { 204: { description: 'Stored (a repeat is not duplicated).' } },
  },
  {
    method: 'get',
    path: '/identities/:identity/key-transitions',
    summary: "An identity's key-transition statements, oldest first",
    tag: 'identities',
    auth: 'session',
    params: IdentityParams,
    responses: { 200: { description: 'The statements.', schema: KeyTransitionList } },
  },
];

/**
 * PUT /v1/identities/me/key-transitions publishes a statement signed by the caller's previous key
 * (only statements about the caller itself); GET /v1/identities/:identity/key-transitions lists
 * an identity's statements to any authenticated caller.
 */
export function keyTransitionRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/identities/me/key-transitions')
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const transition = parseInput(KeyTransition, req.body, 'body');
      await ctx.keyTransitions.publish(principalOf(res).identity, transition);
      res.status(204).end();
    })
    .all(methodNotAllowed);
  router
    .route('/identities/:identity/key-transitions')
    .get(authenticate(ctx), async (req, res) => {
      const { identity } = parseInput(IdentityParams, req.params, 'path');
      reply(res, 200, KeyTransitionList, { transitions: await ctx.keyTransitions.list(identity) });
    })
    .all(methodNotAllowed);
  return router;
}
