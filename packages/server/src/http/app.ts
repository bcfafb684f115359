import { API_PREFIX } from '@conduit/shared';
import express, { type Express } from 'express';
import type { AppContext } from './context.js';
import { errorHandler, notFound, requestLog, securityHeaders } from './middleware.js';
import { auditRoutes } from '../audit/routes.js';
import { deliveryRoutes } from '../delivery/routes.js';
import { fileRoutes } from '../files/routes.js';
import { uploadRoutes } from '../files/upload-routes.js';
import { groupRoutes } from '../groups/routes.js';
import { deviceRoutes } from '../identity/device-routes.js';
import { keyTransitionRoutes } from '../identity/key-transition-routes.js';
import { opaqueAuthRoutes } from '../identity/opaque-routes.js';
import { authRoutes } from '../identity/password-routes.js';
import { sessionRoutes } from '../identity/session-routes.js';
import { tokenRoutes } from '../identity/token-routes.js';
import { httpMetrics, routeBase } from '../ops/http-metrics.js';
import { opsRoutes, type OpsOptions } from '../ops/routes.js';
import { recordRoutes } from '../records/routes.js';
import { healthRoutes } from './health.js';
import { limitAddress } from './rate-limit.js';

/** `ops` adds /readyz, /metrics and the queue dashboard (the server always passes it; unit tests may not). */
export function createApp(ctx: AppContext, ops?: OpsOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Query strings are never used; parse none rather than build objects from attacker input.
  app.set('query parser', false);
  // X-Forwarded-For only from the declared proxies; otherwise the TCP peer is the client address.
  app.set('trust proxy', ctx.config.trustProxy ?? false);

  app.use(securityHeaders, requestLog(ctx.logger));
  if (ops) app.use(httpMetrics(ops.metrics.registry));
  app.use(healthRoutes());
  if (ops) app.use(opsRoutes(ctx, ops));

  const v1 = express.Router();
  v1.use(routeBase);
  // Every /v1 request spends its address's budget; the routes that need no session (sign-up and
  // login, all under /auth) a tighter one too.
  v1.use(limitAddress(ctx, 'address'));
  v1.use('/auth', limitAddress(ctx, 'anonymous'));
  if (ctx.devAccounts) {
    const legacy = ctx.config.auth.mode === 'dev' && ctx.config.auth.legacyRoutes === true;
    v1.use(authRoutes(ctx.devAccounts, ctx.authRate, legacy));
  }
  if (ctx.opaqueAccounts) v1.use(opaqueAuthRoutes(ctx.opaqueAccounts, ctx.authRate));
  v1.use(
    deviceRoutes(ctx),
    sessionRoutes(ctx),
    tokenRoutes(ctx),
    groupRoutes(ctx),
    fileRoutes(ctx),
    uploadRoutes(ctx),
    deliveryRoutes(ctx),
    recordRoutes(ctx),
    auditRoutes(ctx),
    keyTransitionRoutes(ctx),
  );
  app.use(API_PREFIX, v1);

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
