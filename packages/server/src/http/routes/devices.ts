import { ConduitError, DeviceParams, DeviceResponse } from '@conduit/shared';
import { Router } from 'express';
import { removeDevice } from '../../purge/departures.js';
import type { AppContext } from '../context.js';
import { authenticate, methodNotAllowed, principalOf } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

/**
 * PUT /v1/devices/:deviceId registers one of the caller's devices (idempotent); DELETE removes it,
 * dropping its pending acknowledgements everywhere (idempotent too).
 */
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
    .delete(authenticate(ctx), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      await removeDevice(ctx, { identity: principalOf(res).identity, deviceId });
      res.status(204).end();
    })
    .all(methodNotAllowed);
  return router;
}
