import { ConduitError } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from '../middleware.js';

/** GET /healthz: ready when Redis and object storage answer. Unauthenticated; reveals nothing else. */
export function healthRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/healthz')
    .get(async (_req, res) => {
      try {
        await Promise.all([ctx.redis.ping(), ctx.objectStore.ping()]);
      } catch (cause) {
        throw new ConduitError('DEPENDENCY_UNAVAILABLE', undefined, undefined, { cause });
      }
      res.status(200).json({ status: 'ok' });
    })
    .all(methodNotAllowed);
  return router;
}
