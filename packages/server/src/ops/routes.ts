import type { Queue } from 'bullmq';
import { Router } from 'express';
import { requireAdmin } from './admin.js';
import { DASHBOARD_PATH, queueDashboard } from './dashboard.js';
import { probeRoutes, type ProbeOptions } from './probes.js';
import type { AppContext } from '../http/context.js';

export interface OpsOptions extends Omit<ProbeOptions, 'logger' | 'openMetrics'> {
  /** Queues shown on the dashboard at /admin/queues (absent: no dashboard). */
  queues?: Queue[];
}

/** GET /readyz, GET /metrics (bearer CONDUIT_METRICS_TOKEN) and the admin-only queue dashboard. */
export function opsRoutes(ctx: AppContext, ops: OpsOptions): Router {
  const router = Router();
  router.use(probeRoutes({ ...ops, logger: ctx.logger }));
  if (ops.queues && ops.queues.length > 0) {
    router.use(DASHBOARD_PATH, ...requireAdmin(ctx), ...queueDashboard(ops.queues));
  }
  return router;
}
