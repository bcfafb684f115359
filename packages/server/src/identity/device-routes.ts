import { DeviceList, DeviceParams, DeviceResponse, SetNameRequest } from '@conduit/shared';
import { Router } from 'express';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const deviceOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/devices',
    summary: "The caller's active devices",
    tag: 'devices',
    auth: 'session',
    responses: { 200: { description: 'The devices.', schema: DeviceList } },
  },
  {
    method: 'put',
    path: '/devices/:deviceId',
    summary: 'Enroll the calling device (idempotent)',
    tag: 'devices',
    auth: 'enrollment',
    params: DeviceParams,
    responses: { 200: { description: 'The device.', schema: DeviceResponse } },
  },
  {
    method: 'delete',
    path: '/devices/:deviceId',
    summary: "Revoke one of the caller's devices for good (idempotent)",
    tag: 'devices',
    auth: 'session',
    params: DeviceParams,
    responses: { 204: { description: 'Revoked.' } },
  },
  {
    method: 'put',
    path: '/devices/:deviceId/name',
    summary: "Name one of the caller's active devices (sealed)",
    tag: 'devices',
    auth: 'session',
    params: DeviceParams,
    body: SetNameRequest,
    responses: { 204: { description: 'Renamed.' } },
    errors: ['DEVICE_NOT_FOUND'],
  },
];

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
      const devices = await ctx.devices.list(identity);
      reply(res, 200, DeviceList, { devices: devices.map((d) => ({ identity, ...d })) });
    })
    .all(methodNotAllowed);
  router
    .route('/devices/:deviceId')
    .put(authenticate(ctx, { enrollment: true }), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      const caller = callerDevice(res);
      const { identity } = principalOf(res);
      const { createdAt } = await ctx.devices.enroll(identity, deviceId, caller);
      reply(res, 200, DeviceResponse, { identity, deviceId, createdAt });
    })
    .delete(authenticate(ctx), async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      await ctx.devices.revoke(principalOf(res).identity, deviceId);
      res.status(204).end();
    })
    .all(methodNotAllowed);
  router
    .route('/devices/:deviceId/name')
    .put(authenticate(ctx), jsonBody, async (req, res) => {
      const { deviceId } = parseInput(DeviceParams, req.params, 'path');
      const { sealedName } = parseInput(SetNameRequest, req.body, 'body');
      await ctx.devices.rename(principalOf(res).identity, deviceId, sealedName);
      res.status(204).end();
    })
    .all(methodNotAllowed);
  return router;
}
