import {
  AckRequest,
  AckResponse,
  AnomalyRecorded,
  AnomalyReport,
  GroupParams,
  PointerParams,
  PointerStatus,
  PointerWithdrawn,
} from '@conduit/shared';
import { Router } from 'express';
import { requireMembership, requirePointerAccess, requireWithdrawRight } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const deliveryOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/pointers/:pointerId/ack',
    summary: "A recipient endpoint's signed receipt",
    tag: 'delivery',
    auth: 'session',
    params: PointerParams,
    body: AckRequest,
    responses: { 200: { description: 'Recorded (idempotent).', schema: AckResponse } },
    errors: ['POINTER_NOT_FOUND', 'NOT_A_RECIPIENT', 'POINTER_MISMATCH', 'FILE_WITHDRAWN'],
  },
  {
    method: 'get',
    path: '/pointers/:pointerId',
    summary: "A pointer's delivery status, receipts and anomalies",
    tag: 'delivery',
    auth: 'session',
    params: PointerParams,
    responses: { 200: { description: 'The status.', schema: PointerStatus } },
    errors: ['POINTER_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/pointers/:pointerId',
    summary: 'Withdraw a file: its Sync item, ciphertext object and pending delivery end (sender or group owner)',
    tag: 'delivery',
    auth: 'session',
    params: PointerParams,
    responses: { 200: { description: 'Withdrawn (idempotent: a repeat answers the same).', schema: PointerWithdrawn } },
    errors: ['POINTER_NOT_FOUND', 'FORBIDDEN', 'LEGAL_HOLD', 'DEPENDENCY_UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/anomalies',
    summary: 'Report a pointer that vanished, changed, failed verification or is unknown',
    tag: 'delivery',
    auth: 'session',
    params: GroupParams,
    body: AnomalyReport,
    responses: { 202: { description: '`recorded` is false for a repeat.', schema: AnomalyRecorded } },
    errors: ['GROUP_NOT_FOUND', 'POINTER_NOT_FOUND'],
  },
];

/** Receipts, delivery status and anomaly reports (docs/delivery.md). */
export function deliveryRoutes(ctx: AppContext): Router {
  const router = Router();

  // POST /v1/pointers/:pointerId/ack: one recipient endpoint's signed receipt. It must name the
  // object and envelope the ledger bound, or it is refused (409 POINTER_MISMATCH) and reported.
  router
    .route('/pointers/:pointerId/ack')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const claim = parseInput(AckRequest, req.body, 'body');
      const { identity } = principalOf(res);
      const endpoint = { identity, deviceId: callerDevice(res) };
      await requirePointerAccess(ctx.access, pointerId, identity);
      const { remaining } = await ctx.delivery.acknowledge(pointerId, endpoint, claim);
      reply(res, 200, AckResponse, { pointerId, remaining, complete: remaining === 0 });
    })
    .all(methodNotAllowed);

  // GET /v1/pointers/:pointerId: delivery status with signed receipts and anomalies, for
  // participants of the pointer's group.
  router
    .route('/pointers/:pointerId')
    .get(authenticate(ctx), async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const pointer = await requirePointerAccess(ctx.access, pointerId, principalOf(res).identity);
      reply(res, 200, PointerStatus, await ctx.delivery.status(pointer));
    })
    // DELETE: the file's sender (any device) or the group owner withdraws it (lifecycle/withdrawal.ts).
    .delete(authenticate(ctx), async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const { identity } = principalOf(res);
      const { pointer } = await requireWithdrawRight(ctx.access, pointerId, identity);
      reply(res, 200, PointerWithdrawn, await ctx.withdrawal.withdraw(pointer, identity));
    })
    .all(methodNotAllowed);

  // POST /v1/groups/:groupId/anomalies: a receiving endpoint reports a pointer that vanished,
  // changed, failed verification or that the ledger does not know. Members only; one report per
  // pointer per endpoint and a budget per endpoint (RATE_LIMITED beyond), so a member cannot flood
  // the audit log. Each first report is an audit event and a metric; it shows in the pointer status.
  router
    .route('/groups/:groupId/anomalies')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const report = parseInput(AnomalyReport, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx.access, groupId, identity);
      const recorded = await ctx.delivery.reportAnomaly(groupId, { identity, deviceId: callerDevice(res) }, report);
      reply(res, 202, AnomalyRecorded, { recorded });
    })
    .all(methodNotAllowed);

  return router;
}
