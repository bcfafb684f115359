import {
  AckRequest,
  AckResponse,
  ConduitError,
  GroupParams,
  PointerParams,
  PointerRegistration,
  PointerStatus,
  RegisterPointerRequest,
  envelopeSha256,
  objectKeyOf,
} from '@conduit/shared';
import type { PointerV1 } from '@conduit/shared';
import { Router } from 'express';
import { pointerAnomaly } from '../audit/entries.js';
import { requireMembership, requirePointerAccess } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import { LEDGER_GRACE_SECONDS, publishPointer, registerPointer } from './pointer-registry.js';

export function pointerRoutes(ctx: AppContext): Router {
  const router = Router();

  // POST /v1/groups/:groupId/pointers: the sender hands over the whole pointer. The server checks
  // it, binds it in the ledger (id, group, object, sender endpoint, envelope digest) and publishes
  // the Sync item itself: members only read the map. A retry by the same sender with the same
  // binding gets the registration back and re-publishes while pending (a crash between the two
  // steps heals); a publishing failure is a 503 the sender's retry heals.
  router
    .route('/groups/:groupId/pointers')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const body = parseInput(RegisterPointerRequest, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx, groupId, identity);
      const deviceId = callerDevice(res);
      const stored = await ctx.objectStore.head(objectKeyOf(groupId, body.objectId));
      if (!stored) throw new ConduitError('NOT_FOUND', 'No such object.');
      if (stored.size !== body.size) {
        throw new ConduitError('VALIDATION_FAILED', 'Invalid body.', [
          { where: 'body', path: 'size', message: 'differs from the stored object' },
        ]);
      }

      const sender = { identity, deviceId };
      const { registration, created } = await registerPointer(ctx, {
        pointerId: body.pointerId,
        groupId,
        sender,
        binding: { objectId: body.objectId, envelopeSha256: envelopeSha256(body.envelope) },
      });
      const item: PointerV1 = {
        v: 1,
        kind: 'file',
        id: body.pointerId,
        groupId,
        sender,
        objectId: body.objectId,
        size: body.size,
        envelope: body.envelope,
        createdAt: registration.createdAt,
      };
      await publishPointer(ctx, registration, item);
      reply(res, created ? 201 : 200, PointerRegistration, registration);
    })
    .all(methodNotAllowed);

  // POST /v1/pointers/:pointerId/ack: one recipient endpoint's signed receipt. It must name the
  // object and envelope the ledger bound, or it is refused (409 POINTER_MISMATCH) and reported.
  router
    .route('/pointers/:pointerId/ack')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const claim = parseInput(AckRequest, req.body, 'body');
      const { identity } = principalOf(res);
      const endpoint = { identity, deviceId: callerDevice(res) };
      await requirePointerAccess(ctx, pointerId, identity);
      const result = await ctx.ledger.acknowledge(pointerId, endpoint, claim);
      if (!result.ok) {
        if (result.reason === 'POINTER_MISMATCH') await reportAckMismatch(ctx, pointerId, endpoint);
        throw new ConduitError(result.reason);
      }
      if (result.firstAck) ctx.observer.onAck({ pointerId, remaining: result.remaining });
      reply(res, 200, AckResponse, { pointerId, remaining: result.remaining, complete: result.remaining === 0 });
    })
    .all(methodNotAllowed);

  // GET /v1/pointers/:pointerId: delivery status with signed receipts and anomalies, for
  // participants of the pointer's group.
  router
    .route('/pointers/:pointerId')
    .get(authenticate(ctx), async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const pointer = await requirePointerAccess(ctx, pointerId, principalOf(res).identity);
      const anomalies = await ctx.anomalies.list(pointerId);
      reply(res, 200, PointerStatus, { ...pointer, anomalies });
    })
    .all(methodNotAllowed);

  return router;
}

/** An ack that names another object or envelope: someone (or something) swapped the pointer. */
async function reportAckMismatch(
  ctx: AppContext,
  pointerId: string,
  endpoint: { identity: string; deviceId: string },
): Promise<void> {
  const groupId = await ctx.ledger.groupOf(pointerId);
  if (groupId === null) return;
  const at = new Date();
  const outcome = await ctx.anomalies.record(
    pointerId,
    { ...endpoint, kind: 'changed', code: 'POINTER_MISMATCH', at: at.toISOString() },
    ctx.config.twilio.itemTtlSeconds + LEDGER_GRACE_SECONDS,
  );
  if (outcome !== 'recorded') return;
  await ctx.audit.append(
    pointerAnomaly({ pointerId, groupId, reporter: endpoint, kind: 'changed', code: 'POINTER_MISMATCH', at }),
  );
  ctx.observer.onAnomaly({ kind: 'changed' });
}
