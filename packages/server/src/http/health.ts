import { z } from 'zod';
import { Router } from 'express';
import { methodNotAllowed } from './middleware.js';
import type { ApiOperation } from './openapi/operation.js';

export const healthOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness (no dependency is touched)',
    tag: 'ops',
    auth: 'none',
    responses: { 200: { description: 'The process answers.', schema: z.object({ status: z.literal('ok') }) } },
  },
];

/**
 * GET /healthz: liveness, i.e. the process answers. Deliberately no I/O, so an outage of Redis,
 * S3 or Sync marks the process unready (/readyz) instead of getting it restarted. Unauthenticated.
 */
export function healthRoutes(): Router {
  const router = Router();
  router
    .route('/healthz')
    .get((_req, res) => {
      res.status(200).json({ status: 'ok' });
    })
    .all(methodNotAllowed);
  return router;
}
