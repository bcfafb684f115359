import type { RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Route label of requests no route matched (404s): raw paths would be unbounded label values. */
export const UNMATCHED_ROUTE = 'unmatched';

const histograms = new WeakMap<Registry, Histogram<'method' | 'route' | 'status'>>();

/** One histogram per registry: several apps in one process (tests, `conduit stack`) share it. */
function histogramOf(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  let histogram = histograms.get(registry);
  if (!histogram) {
    histogram = new Histogram({
      name: 'conduit_http_request_duration_seconds',
      help: 'API requests by method, route pattern and status code: latency from arrival to the last byte sent (_count: requests).',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    histograms.set(registry, histogram);
  }
  return histogram;
}

const BASE = 'routeBase';

/**
 * Remembers where a mounted router lives (`/v1`): Express restores `req.baseUrl` on the way out of
 * a router, before the response finishes, so the label's prefix is taken on the way in.
 */
export const routeBase: RequestHandler = (req, res, next) => {
  res.locals[BASE] = req.baseUrl;
  next();
};

/**
 * Per-route request metrics. The route label is the matched pattern (`/v1/groups/:groupId`), never
 * the path: ids are data and would make the label set unbounded.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  const histogram = histogramOf(registry);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const base = typeof res.locals[BASE] === 'string' ? res.locals[BASE] : '';
      const route = typeof pattern === 'string' ? `${base}${pattern}` : UNMATCHED_ROUTE;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    next();
  };
}
