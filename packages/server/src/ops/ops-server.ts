import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler, notFound, securityHeaders } from '../http/middleware.js';
import { healthRoutes } from '../http/health.js';
import { probeRoutes, type ProbeOptions } from './probes.js';

export interface RunningOpsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A separate listener for probes and metrics (CONDUIT_OPS_PORT): the worker has no API to hang
 * them on, and binding it to a private interface keeps /metrics off the public port.
 */
export async function startOpsServer(
  opts: Omit<ProbeOptions, 'openMetrics'> & { host: string; port: number },
): Promise<RunningOpsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', false);
  app.use(securityHeaders, healthRoutes(), probeRoutes({ ...opts, openMetrics: true }), notFound);
  app.use(errorHandler(opts.logger));
  const server: Server = createServer(app);
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
