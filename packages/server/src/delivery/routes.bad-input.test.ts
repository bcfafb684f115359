import { describe } from 'vitest';
import {
  devices,
  hex,
  itRefuses,
  receiptFor,
  tamper,
  useAppFixture,
  type RefusalCase,
} from '../testing/app-fixture.js';

// Refusals of the ack, anomaly and status routes; the fixture is in testing/app-fixture.ts.
const fx = useAppFixture();
const { tokens, groupId, pointerId } = fx;

const cases: RefusalCase[] = [
  // POST /v1/pointers/:pointerId/ack
  [
    'ack: missing auth',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      device: devices.bob1,
      body: receiptFor(fx.objectId),
    }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'ack: bad token',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tamper(tokens.bob),
      device: devices.bob1,
      body: receiptFor(fx.objectId),
    }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'ack: bad pointer id',
    () => ({
      method: 'POST',
      path: '/v1/pointers/1234/ack',
      token: tokens.bob,
      device: devices.bob1,
      body: receiptFor(fx.objectId),
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    "ack: header naming another of the identity's devices",
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.alice2,
      device: devices.alice1,
      body: receiptFor(fx.objectId),
    }),
    403,
    'FORBIDDEN',
  ],
  [
    'ack: unenrolled device',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.bob99,
      body: receiptFor(fx.objectId),
    }),
    403,
    'UNKNOWN_DEVICE',
  ],
  [
    'ack: malformed device header',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.bob,
      device: 'x',
      body: receiptFor(fx.objectId),
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'ack: unknown pointer',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${hex()}/ack`,
      token: tokens.bob,
      device: devices.bob1,
      body: receiptFor(fx.objectId),
    }),
    404,
    'POINTER_NOT_FOUND',
  ],
  [
    'ack: outsider (as for an unknown pointer)',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.carol,
      device: devices.carol1,
      body: receiptFor(fx.objectId),
    }),
    404,
    'POINTER_NOT_FOUND',
  ],
  [
    'ack: the sending device',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.alice,
      device: devices.alice1,
      body: receiptFor(fx.objectId),
    }),
    403,
    'NOT_A_RECIPIENT',
  ],
  [
    'ack: without the receipt',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.bob,
      device: devices.bob1,
      body: {},
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'ack: naming another envelope than the binding',
    () => ({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: tokens.bob,
      device: devices.bob1,
      body: { ...receiptFor(fx.objectId), envelopeSha256: 'ee'.repeat(32) },
    }),
    409,
    'POINTER_MISMATCH',
  ],
  // POST /v1/groups/:groupId/anomalies
  [
    'anomaly: non-member (as for an unknown group)',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/anomalies`,
      token: tokens.carol,
      device: devices.carol1,
      body: { pointerId, kind: 'vanished', code: 'POINTER_NOT_FOUND' },
    }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'anomaly: unknown kind',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/anomalies`,
      token: tokens.bob,
      device: devices.bob1,
      body: { pointerId, kind: 'bored', code: 'X' },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  // GET /v1/pointers/:pointerId
  ['status: missing auth', () => ({ path: `/v1/pointers/${pointerId}` }), 401, 'UNAUTHENTICATED'],
  ['status: bad id', () => ({ path: '/v1/pointers/zz', token: tokens.bob }), 400, 'VALIDATION_FAILED'],
  ['status: unknown pointer', () => ({ path: `/v1/pointers/${hex()}`, token: tokens.bob }), 404, 'POINTER_NOT_FOUND'],
  ['status: non-member', () => ({ path: `/v1/pointers/${pointerId}`, token: tokens.carol }), 404, 'POINTER_NOT_FOUND'],
];

describe('bad input to every route', () => {
  itRefuses(fx, cases);
});
