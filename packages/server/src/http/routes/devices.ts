import { ConduitError, DeviceParams, DeviceResponse } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { authenticate, methodNotAllowed, principalOf } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

/** PUT /v1/devices/:deviceId registers one of the caller's devices (idempotent). */
export function deviceRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/devices/:deviceId')
    .put(authenticate(ctx), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      const { identity } = principalOf(res);
      const result = await ctx.devices.register(identity, deviceId, new Date());
      if (!result.ok) throw new ConduitError('FORBIDDEN', 'Device limit reached for this identity.');
      reply(res, 200, DeviceResponse, { identity, deviceId, createdAt: result.createdAt });
    })
    .all(methodNotAllowed);
  return router;
}
