import { ConduitError, DeviceList, DeviceParams, DeviceResponse, SetNameRequest } from '@conduit/shared';
import { Router } from 'express';
import { removeDevice } from '../delivery/departures.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';

/**
 * GET /v1/devices lists the caller's devices; PUT /v1/devices/:deviceId enrolls the calling device
 * itself (idempotent); DELETE revokes one of the caller's devices for good: its sessions are
 * refused from then on and its pending acknowledgements are dropped everywhere (idempotent too).
 * PUT /v1/devices/:deviceId/name names one of the caller's active devices (sealed by the client).
 */
export function deviceRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/devices')
    .get(authenticate(ctx), async (_req, res) => {
      const { identity } = principalOf(res);
      const devices = await ctx.devices.listNamed(identity);
      reply(res, 200, DeviceList, { devices: devices.map((d) => ({ identity, ...d })) });
    })
    .all(methodNotAllowed);
  router
    .route('/devices/:deviceId')
    .put(authenticate(ctx, { enrollment: true }), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      // A device enrolls only itself: a session cannot mint endpoints for other devices.
      if (deviceId !== callerDevice(res)) {
        throw new ConduitError('FORBIDDEN', 'A device can only register itself (the device of the session).');
      }
      const { identity } = principalOf(res);
      const result = await ctx.devices.register(identity, deviceId, new Date());
      if (!result.ok) {
        // REVOKED: revoked since `authenticate` looked; the script checks the tombstone atomically.
        if (result.reason === 'REVOKED') throw new ConduitError('DEVICE_REVOKED');
        throw new ConduitError('FORBIDDEN', 'Device limit reached for this identity.');
      }
      reply(res, 200, DeviceResponse, { identity, deviceId, createdAt: result.createdAt });
    })
    .delete(authenticate(ctx), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      await removeDevice(ctx, { identity: principalOf(res).identity, deviceId });
      res.status(204).end();
    })
    .all(methodNotAllowed);
  router
    .route('/devices/:deviceId/name')
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      const { sealedName } = parseInput(SetNameRequest, req.body, 'body');
      // Keyed by the caller's identity: another identity's device id is simply not found.
      if (!(await ctx.devices.setName(principalOf(res).identity, deviceId, sealedName))) {
        throw new ConduitError('DEVICE_NOT_FOUND');
      }
      res.status(204).end();
    })
    .all(methodNotAllowed);
  return router;
}
