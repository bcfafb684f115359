import {
  AckResponse,
  ConduitError,
  GroupParams,
  PointerParams,
  PointerRegistration,
  PointerStatus,
  RegisterPointerRequest,
  endpointKey,
  objectKeyOf,
  syncMapOf,
} from '@conduit/shared';
import type { Endpoint, PointerState } from '@conduit/shared';
import { Router } from 'express';
import { participantsOf } from '../../redis/groups.js';
import { requireMembership, requirePointerAccess } from '../access.js';
import type { AppContext } from '../context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

/** Ledger records outlive the Sync item's TTL by this much, then expire. */
const LEDGER_GRACE_SECONDS = 7 * 24 * 3600;

export function pointerRoutes(ctx: AppContext): Router {
  const router = Router();

  // POST /v1/groups/:groupId/pointers: registers a pointer before the sender publishes it to Sync,
  // snapshotting who must acknowledge it (every device of every participant but the sender's).
  router
    .route('/groups/:groupId/pointers')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { pointerId, objectId } = parseInput(RegisterPointerRequest, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx, groupId, identity);
      const deviceId = callerDevice(res);
      if (!(await ctx.objectStore.head(objectKeyOf(groupId, objectId)))) {
        throw new ConduitError('NOT_FOUND', 'No such object.');
      }

      const { registration, created } = await registerPointer(ctx, {
        pointerId,
        groupId,
        sender: { identity, deviceId },
      });
      reply(res, created ? 201 : 200, PointerRegistration, registration);
    })
    .all(methodNotAllowed);

  // POST /v1/pointers/:pointerId/ack: one recipient endpoint confirms delivery.
  router
    .route('/pointers/:pointerId/ack')
    .post(authenticate(ctx), async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const { identity } = principalOf(res);
      const deviceId = callerDevice(res);
      await requirePointerAccess(ctx, pointerId, identity);
      const result = await ctx.ledger.acknowledge(pointerId, { identity, deviceId });
      if (!result.ok) throw new ConduitError(result.reason);
      if (result.firstAck) ctx.observer.onAck({ pointerId, remaining: result.remaining });
      reply(res, 200, AckResponse, { pointerId, remaining: result.remaining, complete: result.remaining === 0 });
    })
    .all(methodNotAllowed);

  // GET /v1/pointers/:pointerId: delivery status, for participants of the pointer's group.
  router
    .route('/pointers/:pointerId')
    .get(authenticate(ctx), async (req, res) => {
      const { pointerId } = parseInput(PointerParams, req.params, 'path');
      const pointer = await requirePointerAccess(ctx, pointerId, principalOf(res).identity);
      reply(res, 200, PointerStatus, pointer);
    })
    .all(methodNotAllowed);

  return router;
}

/** A membership or device removal landing during registration makes the snapshot stale: retry. */
const REGISTER_ATTEMPTS = 5;

/**
 * Registers a pointer with the acknowledgement ledger (file pointers and record pointers alike):
 * the Sync item's coordinates and TTL, and who must acknowledge it. Idempotent for its sender: a
 * retry (say, after the sender crashed between registering and publishing) gets the first
 * registration back with `created: false`; anyone else gets 409 POINTER_EXISTS.
 */
export async function registerPointer(
  ctx: AppContext,
  input: { pointerId: string; groupId: string; sender: Endpoint },
): Promise<{ registration: PointerRegistration; created: boolean }> {
  try {
    const expected = await registerWithSnapshot(ctx, {
      ...input,
      retentionSeconds: ctx.config.twilio.itemTtlSeconds + LEDGER_GRACE_SECONDS,
    });
    // With nobody to wait for, the ledger queued the purge at once.
    const state = expected.length === 0 ? 'purging' : 'pending';
    return { registration: registrationOf(ctx, input, expected, state), created: true };
  } catch (err) {
    if (!(err instanceof ConduitError) || err.code !== 'POINTER_EXISTS') throw err;
    const existing = await ctx.ledger.get(input.pointerId);
    if (existing?.groupId !== input.groupId || endpointKey(existing.sender) !== endpointKey(input.sender)) throw err;
    return { registration: registrationOf(ctx, input, existing.expected, existing.state), created: false };
  }
}

/** What the publisher needs to write the Sync item of a registered pointer. */
function registrationOf(
  ctx: AppContext,
  input: { pointerId: string; groupId: string },
  expected: Endpoint[],
  state: PointerState,
): PointerRegistration {
  return {
    pointerId: input.pointerId,
    groupId: input.groupId,
    syncMap: syncMapOf(input.groupId),
    itemKey: input.pointerId,
    itemTtlSeconds: ctx.config.twilio.itemTtlSeconds,
    expected,
    state,
  };
}

/**
 * Snapshots who must acknowledge (every device of every participant but the sender's) and
 * registers the pointer, atomically checked against the group's membership epoch.
 */
async function registerWithSnapshot(
  ctx: AppContext,
  input: { pointerId: string; groupId: string; sender: Endpoint; retentionSeconds: number },
): Promise<Endpoint[]> {
  for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt += 1) {
    const epoch = await ctx.ledger.epochOf(input.groupId);
    const group = await requireMembership(ctx, input.groupId, input.sender.identity);
    const devicesByIdentity = await ctx.devices.ofMany(participantsOf(group));
    const expected: Endpoint[] = [];
    for (const [member, devices] of devicesByIdentity) {
      for (const device of devices) {
        if (member !== input.sender.identity || device !== input.sender.deviceId) {
          expected.push({ identity: member, deviceId: device });
        }
      }
    }
    const outcome = await ctx.ledger.register({ ...input, expected, createdAt: new Date(), epoch });
    if (outcome === 'created') return expected;
    if (outcome === 'exists') throw new ConduitError('POINTER_EXISTS');
  }
  throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Group membership kept changing; try again.');
}
