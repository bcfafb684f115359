import { API_PREFIX } from '@conduit/shared';
import express, { type Express } from 'express';
import type { AppContext } from './context.js';
import { errorHandler, notFound, requestLog, securityHeaders } from './middleware.js';
import { authRoutes } from './routes/auth.js';
import { deviceRoutes } from './routes/devices.js';
import { groupRoutes } from './routes/groups.js';
import { healthRoutes } from './routes/health.js';
import { objectRoutes } from './routes/objects.js';
import { pointerRoutes } from './routes/pointers.js';
import { tokenRoutes } from './routes/tokens.js';

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Query strings are never used; parse none rather than build objects from attacker input.
  app.set('query parser', false);

  app.use(securityHeaders, requestLog(ctx.logger));
  app.use(healthRoutes(ctx));

  const v1 = express.Router();
  if (ctx.devAccounts) v1.use(authRoutes(ctx.devAccounts));
  v1.use(deviceRoutes(ctx), tokenRoutes(ctx), groupRoutes(ctx), objectRoutes(ctx), pointerRoutes(ctx));
  app.use(API_PREFIX, v1);

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
