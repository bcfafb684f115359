import { ConduitError, DeviceList, DeviceParams, DeviceResponse } from '@conduit/shared';
import { Router } from 'express';
import { removeDevice } from '../../purge/departures.js';
import type { AppContext } from '../context.js';
import { authenticate, methodNotAllowed, principalOf } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

/**
 * GET /v1/devices lists the caller's devices; PUT /v1/devices/:deviceId registers one (idempotent);
 * DELETE removes it, dropping its pending acknowledgements everywhere (idempotent too).
 */
export function deviceRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/devices')
    .get(authenticate(ctx), async (_req, res) => {
      const { identity } = principalOf(res);
      const devices = await ctx.devices.list(identity);
      reply(res, 200, DeviceList, { devices: devices.map((d) => ({ identity, ...d })) });
    })
    .all(methodNotAllowed);
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
