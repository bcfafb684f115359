import { createHash, timingSafeEqual } from 'node:crypto';
import { ConduitError } from '@conduit/shared';
import { z } from 'zod';
import { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { methodNotAllowed } from '../http/middleware.js';
import type { DeliveryMetrics } from './metrics.js';
import type { ReadinessCheck } from './readiness.js';
import { ReadinessCache } from './readiness-cache.js';
import type { ApiOperation } from '../http/openapi/operation.js';

export interface ProbeOptions {
  metrics: DeliveryMetrics;
  readiness: Record<string, ReadinessCheck>;
  logger: Logger;
  /**
   * Bearer token required on /metrics. Absent: /metrics answers 404 unless `openMetrics` (the
   * ops listener, bound to a private interface, exposes it without a token).
   */
  metricsToken?: string;
  openMetrics?: boolean;
}

const BEARER = /^Bearer (\S{1,512})$/;
const digest = (value: string) => createHash('sha256').update(value).digest();

const Readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  ready: z.boolean(),
  checks: z.record(z.string(), z.enum(['ok', 'fail'])),
});

/** The OpenAPI description of the routes below (http/openapi/). */
export const probeOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: each dependency from a probe at most 2 s old',
    tag: 'ops',
    auth: 'none',
    responses: {
      200: { description: 'Ready.', schema: Readiness },
      503: { description: 'A dependency failed.', schema: Readiness },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'ops',
    auth: 'metrics',
    responses: { 200: { description: 'Prometheus text format.', contentType: 'text/plain' } },
  },
];

/** Constant-time comparison of the presented bearer token with the configured one. */
function metricsAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (req, _res, next) => {
    const presented = BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new ConduitError('UNAUTHENTICATED');
    }
    next();
  };
}

/** GET /readyz (dependencies, from a cached probe) and GET /metrics (Prometheus); /healthz lives in http/health.ts. */
export function probeRoutes(opts: ProbeOptions): Router {
  const router = Router();
  const readiness = new ReadinessCache(opts.readiness, opts.logger);
  router
    .route('/readyz')
    .get(async (_req, res) => {
      const report = await readiness.current();
      res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'unavailable', ...report });
    })
    .all(methodNotAllowed);

  const guard: RequestHandler[] = opts.metricsToken
    ? [metricsAuth(opts.metricsToken)]
    : opts.openMetrics
      ? []
      : [
          () => {
            throw new ConduitError('NOT_FOUND');
          },
        ];
  router
    .route('/metrics')
    .get(...guard, async (_req, res) => {
      const body = await opts.metrics.render();
      res.status(200).type(opts.metrics.contentType).send(body);
    })
    .all(methodNotAllowed);
  return router;
}
