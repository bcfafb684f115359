import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * The dashboard renders its own UI: replace the API's `default-src 'none'` with a policy that lets
 * it load its own scripts and styles and talk to its own API, and nothing else.
 */
const dashboardHeaders: RequestHandler = (_req, res, next) => {
  res.set(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
      "connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  );
  next();
};

/**
 * Bull Board over the purge queue, read-only: a job removed or cleaned by hand would be a purge
 * that never happens, and failed jobs are re-driven by the reconciler, not by clicks.
 */
export function queueDashboard(queues: Queue[]): RequestHandler[] {
  const adapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Conduit queues' } },
  });
  return [dashboardHeaders, adapter.getRouter() as RequestHandler];
}
