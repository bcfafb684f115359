import { API_PREFIX } from '@conduit/shared';
import express, { type Express, type Router } from 'express';
import type { AppContext } from './context.js';
import { errorHandler, notFound, requestLog, securityHeaders } from './middleware.js';
import { buildOpenApiDocument } from './openapi/document.js';
import type { ApiOperation, MountedOperations } from './openapi/operation.js';
import { openApiOperations, openApiRoutes } from './openapi/route.js';
import { auditOperations, auditRoutes } from '../audit/routes.js';
import { deliveryOperations, deliveryRoutes } from '../delivery/routes.js';
import { fileOperations, fileRoutes } from '../files/routes.js';
import { uploadOperations, uploadRoutes } from '../files/upload-routes.js';
import { groupOperations, groupRoutes } from '../groups/routes.js';
import { retentionOperations, retentionRoutes } from '../lifecycle/retention-routes.js';
import { identityOperations, identityRoutes } from '../identity/identity-routes.js';
import { deviceOperations, deviceRoutes } from '../identity/device-routes.js';
import { keyTransitionOperations, keyTransitionRoutes } from '../identity/key-transition-routes.js';
import { opaqueAuthRoutes, opaqueOperations } from '../identity/opaque-routes.js';
import { authRoutes, legacyPasswordOperations, loginOperations } from '../identity/password-routes.js';
import { refreshOperations, sessionOperations, sessionRoutes } from '../identity/session-routes.js';
import { tokenOperations, tokenRoutes } from '../identity/token-routes.js';
import { httpMetrics, routeBase } from '../ops/http-metrics.js';
import { probeOperations } from '../ops/probes.js';
import { opsRoutes, type OpsOptions } from '../ops/routes.js';
import { recordOperations, recordRoutes } from '../records/routes.js';
import { healthOperations, healthRoutes } from './health.js';
import { limitAddress } from './rate-limit.js';

/**
 * `ops` adds /readyz, /metrics and the queue dashboard (the server always passes it; unit tests may
 * not). Every router is mounted with its operations, so /openapi.json describes exactly the routes
 * this app serves (http/openapi/openapi.test.ts holds both to it).
 */
export function createApp(ctx: AppContext, ops?: OpsOptions): Express {
  const app = express();
  const documented: MountedOperations[] = [];
  const mount = (parent: Express | Router, prefix: string, router: Router, operations: readonly ApiOperation[]) => {
    parent.use(router);
    documented.push({ prefix, operations });
  };
  app.disable('x-powered-by');
  app.disable('etag');
  // Query strings are never used; parse none rather than build objects from attacker input.
  app.set('query parser', false);
  // X-Forwarded-For only from the declared proxies; otherwise the TCP peer is the client address.
  app.set('trust proxy', ctx.config.trustProxy ?? false);

  app.use(securityHeaders, requestLog(ctx.logger));
  if (ops) app.use(httpMetrics(ops.metrics.registry));
  mount(app, '', healthRoutes(), healthOperations);
  // The queue dashboard under /admin/queues is an HTML UI, not part of the API: not documented.
  if (ops) mount(app, '', opsRoutes(ctx, ops), probeOperations);
  const publicUrl = ctx.config.publicUrl;
  const oidcIssuer = ctx.config.auth.mode === 'oidc' ? ctx.config.auth.issuer : undefined;
  mount(
    app,
    '',
    openApiRoutes(() => buildOpenApiDocument(documented, { publicUrl, oidcIssuer })),
    openApiOperations,
  );

  const v1 = express.Router();
  v1.use(routeBase);
  // Every /v1 request spends its address's budget; the routes that need no session (sign-up and
  // login, all under /auth) a tighter one too.
  v1.use(limitAddress(ctx, 'address'));
  v1.use('/auth', limitAddress(ctx, 'anonymous'));
  if (ctx.devAccounts) {
    const legacy = ctx.config.auth.mode === 'dev' && ctx.config.auth.legacyRoutes === true;
    const operations = legacy ? [...loginOperations, ...legacyPasswordOperations] : loginOperations;
    mount(v1, API_PREFIX, authRoutes(ctx.devAccounts, ctx.authRate, legacy), operations);
  }
  if (ctx.opaqueAccounts) mount(v1, API_PREFIX, opaqueAuthRoutes(ctx.opaqueAccounts, ctx.authRate), opaqueOperations);
  mount(v1, API_PREFIX, deviceRoutes(ctx), deviceOperations);
  mount(v1, API_PREFIX, identityRoutes(ctx), identityOperations);
  const sessions = ctx.devSessions ? [...sessionOperations, ...refreshOperations] : sessionOperations;
  mount(v1, API_PREFIX, sessionRoutes(ctx), sessions);
  mount(v1, API_PREFIX, tokenRoutes(ctx), tokenOperations);
  mount(v1, API_PREFIX, groupRoutes(ctx), groupOperations);
  mount(v1, API_PREFIX, retentionRoutes(ctx), retentionOperations);
  mount(v1, API_PREFIX, fileRoutes(ctx), fileOperations);
  mount(v1, API_PREFIX, uploadRoutes(ctx), uploadOperations);
  mount(v1, API_PREFIX, deliveryRoutes(ctx), deliveryOperations);
  mount(v1, API_PREFIX, recordRoutes(ctx), recordOperations);
  mount(v1, API_PREFIX, auditRoutes(ctx), auditOperations);
  mount(v1, API_PREFIX, keyTransitionRoutes(ctx), keyTransitionOperations);
  app.use(API_PREFIX, v1);

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
