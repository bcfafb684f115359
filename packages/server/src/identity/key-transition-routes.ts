import {
  ConduitError,
  IdentityParams,
  KeyTransition,
  KeyTransitionList,
  parseKeyTransitionStatement,
} from '@conduit/shared';
import { Router } from 'express';
import { DEFAULTS } from '../config.js';
import { KeyTransitionRepository } from '../redis/key-transitions.js';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';

/**
 * PUT /v1/identities/me/key-transitions publishes a statement signed by the caller's previous key
 * (only statements about the caller itself); GET /v1/identities/:identity/key-transitions lists
 * an identity's statements to any authenticated caller (they are public, signed facts). The server
 * cannot make one up: the signature needs the old private key, which never leaves the endpoint.
 */
export function identityRoutes(ctx: AppContext): Router {
  const router = Router();
  const repo = new KeyTransitionRepository(ctx.redis, ctx.config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
  router
    .route('/identities/me/key-transitions')
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const transition = parseInput(KeyTransition, req.body, 'body');
      const statement = parseKeyTransitionStatement(transition.statement);
      if (!statement) throw new ConduitError('VALIDATION_FAILED', 'The statement is not a key-transition statement.');
      const { identity } = principalOf(res);
      if (statement.identity !== identity) {
        throw new ConduitError('FORBIDDEN', 'An identity publishes key transitions about itself only.');
      }
      await repo.add(identity, transition);
      res.status(204).end();
    })
    .all(methodNotAllowed);
  router
    .route('/identities/:identity/key-transitions')
    .get(authenticate(ctx), async (req, res) => {
      const { identity } = parseInput(IdentityParams, req.params, 'path');
      reply(res, 200, KeyTransitionList, { transitions: await repo.list(identity) });
    })
    .all(methodNotAllowed);
  return router;
}
