import { ConduitError } from '@conduit/shared';
import type { RequestHandler } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, principalOf } from '../http/middleware.js';

/**
 * Bearer authentication (the same tokens as every route) plus membership of the configured admin
 * identities (CONDUIT_ADMIN_IDENTITIES). No admins configured means every admin route refuses.
 */
export function requireAdmin(ctx: AppContext): RequestHandler[] {
  const admins = new Set(ctx.config.adminIdentities ?? []);
  const authorize: RequestHandler = (_req, res, next) => {
    if (!admins.has(principalOf(res).identity)) throw new ConduitError('FORBIDDEN');
    next();
  };
  return [authenticate(ctx), authorize];
}
