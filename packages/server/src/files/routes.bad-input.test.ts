import { describe } from 'vitest';
import { devices, hex, itRefuses, pointerBody, useAppFixture, type RefusalCase } from '../testing/app-fixture.js';

// Refusals of the object and pointer routes; the fixture is in testing/app-fixture.ts.
const fx = useAppFixture();
const { tokens, groupId, pointerId } = fx;

const cases: RefusalCase[] = [
  // POST /v1/groups/:groupId/objects
  [
    'upload: missing auth',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, body: { size: 1 } }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'upload: bad group id',
    () => ({ method: 'POST', path: '/v1/groups/xyz/objects', token: tokens.alice, body: { size: 1 } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: zero size',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: { size: 0 } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: fractional size',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: { size: 1.5 } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: string size',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: { size: '10' } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: size over the limit',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/objects`,
      token: tokens.alice,
      body: { size: 6 * 1024 ** 3 },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: unknown field',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: { size: 1, key: 'x' } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: malformed JSON',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: '{' }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'upload: non-member',
    () => ({ method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.carol, body: { size: 1 } }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'upload: unknown group',
    () => ({ method: 'POST', path: `/v1/groups/${hex()}/objects`, token: tokens.alice, body: { size: 1 } }),
    404,
    'GROUP_NOT_FOUND',
  ],
  // GET /v1/groups/:groupId/objects/:objectId
  ['download: missing auth', () => ({ path: `/v1/groups/${groupId}/objects/${fx.objectId}` }), 401, 'UNAUTHENTICATED'],
  [
    'download: bad object id',
    () => ({ path: `/v1/groups/${groupId}/objects/${fx.objectId.toUpperCase()}`, token: tokens.bob }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'download: absent object',
    () => ({ path: `/v1/groups/${groupId}/objects/${hex()}`, token: tokens.bob }),
    404,
    'NOT_FOUND',
  ],
  [
    'download: non-member',
    () => ({ path: `/v1/groups/${groupId}/objects/${fx.objectId}`, token: tokens.carol }),
    404,
    'GROUP_NOT_FOUND',
  ],
  // POST /v1/groups/:groupId/pointers
  [
    'pointer: missing auth',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      device: devices.alice1,
      body: pointerBody(hex(), fx.objectId),
    }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'pointer: malformed device header',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: 'no',
      body: pointerBody(hex(), fx.objectId),
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    "pointer: another user's device in the header",
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.bob1,
      body: pointerBody(hex(), fx.objectId),
    }),
    403,
    'FORBIDDEN',
  ],
  [
    'pointer: unenrolled device',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.bob99,
      body: pointerBody(hex(), fx.objectId),
    }),
    403,
    'UNKNOWN_DEVICE',
  ],
  [
    'pointer: non-member',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.carol,
      device: devices.carol1,
      body: pointerBody(hex(), fx.objectId),
    }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'pointer: absent object',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: pointerBody(hex(), hex()),
    }),
    404,
    'NOT_FOUND',
  ],
  [
    'pointer: bad pointer id',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: pointerBody('p1', fx.objectId),
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'pointer: unknown field',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: { ...pointerBody(hex(), fx.objectId), expected: [] },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'pointer: malformed JSON',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: '{"pointerId":',
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'pointer: id taken by another device',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice2,
      body: pointerBody(pointerId, fx.objectId),
    }),
    409,
    'POINTER_EXISTS',
  ],
  [
    'pointer: size differs from the stored object',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: pointerBody(hex(), fx.objectId, 11),
    }),
    400,
    'VALIDATION_FAILED',
  ],
];

describe('bad input to every route', () => {
  itRefuses(fx, cases);
});
