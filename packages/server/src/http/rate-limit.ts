import type { RequestHandler } from 'express';
import type { AppContext } from './context.js';
import { clientAddress } from './middleware.js';
import type { LimiterName } from '../limits/request-limits.js';

/**
 * Counts the request against the client address's budget, before anything else runs (a flood of
 * bad tokens or bodies is refused before it costs a parse or a lookup). The per-identity budget is
 * counted by `authenticate`, once the identity is known.
 */
export function limitAddress(ctx: AppContext, limiter: Exclude<LimiterName, 'identity'>): RequestHandler {
  return async (req, _res, next) => {
    await ctx.limits.take(limiter, { address: clientAddress(req) });
    next();
  };
}
