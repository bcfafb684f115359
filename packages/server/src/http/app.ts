import { API_PREFIX } from '@conduit/shared';
import express, { type Express } from 'express';
import type { AppContext } from './context.js';
import { errorHandler, notFound, requestLog, securityHeaders } from './middleware.js';
import { adminRoutes } from './routes/admin.js';
import { anomalyRoutes } from './routes/anomalies.js';
import { authRoutes } from './routes/auth.js';
import { deviceRoutes } from './routes/devices.js';
import { groupRoutes } from './routes/groups.js';
import { groupSyncRoutes } from './routes/group-sync.js';
import { healthRoutes } from './routes/health.js';
import { identityRoutes } from './routes/identities.js';
import { memberDeviceRoutes } from './routes/member-devices.js';
import { objectRoutes } from './routes/objects.js';
import { opaqueAuthRoutes } from './routes/opaque-auth.js';
import { opsRoutes, type OpsOptions } from './routes/ops.js';
import { pointerRoutes } from './routes/pointers.js';
import { recordRoutes } from './routes/records.js';
import { tokenRoutes } from './routes/tokens.js';
import { uploadRoutes } from './routes/uploads.js';

/** `ops` adds /readyz, /metrics and the queue dashboard (the server always passes it; unit tests may not). */
export function createApp(ctx: AppContext, ops?: OpsOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Query strings are never used; parse none rather than build objects from attacker input.
  app.set('query parser', false);

  app.use(securityHeaders, requestLog(ctx.logger));
  app.use(healthRoutes());
  if (ops) app.use(opsRoutes(ctx, ops));

  const v1 = express.Router();
  if (ctx.devAccounts) {
    const legacy = ctx.config.auth.mode === 'dev' && ctx.config.auth.legacyRoutes === true;
    v1.use(authRoutes(ctx.devAccounts, ctx.authRate, legacy));
  }
  if (ctx.opaqueAccounts) v1.use(opaqueAuthRoutes(ctx.opaqueAccounts, ctx.authRate));
  v1.use(
    deviceRoutes(ctx),
    tokenRoutes(ctx),
    groupRoutes(ctx),
    groupSyncRoutes(ctx),
    objectRoutes(ctx),
    uploadRoutes(ctx),
    pointerRoutes(ctx),
    recordRoutes(ctx),
    anomalyRoutes(ctx),
    memberDeviceRoutes(ctx),
    adminRoutes(ctx),
    identityRoutes(ctx),
  );
  app.use(API_PREFIX, v1);

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
