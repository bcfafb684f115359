import { MAX_JSON_BODY_BYTES } from '@conduit/shared';
import { describe } from 'vitest';
import {
  badJson,
  big,
  devices,
  hex,
  itRefuses,
  useAppFixture,
  users,
  type RefusalCase,
} from '../testing/app-fixture.js';

// Refusals of the group routes; the fixture is in testing/app-fixture.ts.
const fx = useAppFixture();
const { tokens, groupId } = fx;

const cases: RefusalCase[] = [
  // POST /v1/groups
  [
    'create group: missing auth',
    () => ({ method: 'POST', path: '/v1/groups', body: { groupId: hex(), members: [] } }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'create group: malformed JSON',
    () => ({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: badJson }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'create group: wrong types',
    () => ({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId: 7, members: 'bob' } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'create group: unknown field',
    () => ({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: [], name: 'x' },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'create group: bad id',
    () => ({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId: 'ABC', members: [] } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'create group: too many members',
    () => ({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: Array.from({ length: 100 }, (_, i) => `m${i}`) },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'create group: oversize body',
    () => ({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: [big(MAX_JSON_BODY_BYTES)] },
    }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'create group: unregistered member',
    () => ({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: [users.bob, 'ghost'] },
    }),
    404,
    'IDENTITY_NOT_FOUND',
  ],
  [
    'create group: existing id',
    () => ({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: [users.bob] } }),
    409,
    'GROUP_EXISTS',
  ],
  [
    'create group: form body',
    () => ({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: 'a=b',
      contentType: 'application/x-www-form-urlencoded',
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  // GET /v1/groups/:groupId
  ['get group: missing auth', () => ({ path: `/v1/groups/${groupId}` }), 401, 'UNAUTHENTICATED'],
  ['get group: bad id', () => ({ path: '/v1/groups/not-hex', token: tokens.alice }), 400, 'VALIDATION_FAILED'],
  ['get group: unknown', () => ({ path: `/v1/groups/${hex()}`, token: tokens.alice }), 404, 'GROUP_NOT_FOUND'],
  ['get group: non-member', () => ({ path: `/v1/groups/${groupId}`, token: tokens.carol }), 404, 'GROUP_NOT_FOUND'],
  // DELETE /v1/groups/:groupId/members/:identity: an outsider learns neither the group nor its owner
  [
    'leave: outsider naming itself',
    () => ({ method: 'DELETE', path: `/v1/groups/${groupId}/members/${users.carol}`, token: tokens.carol }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'remove: outsider naming a member',
    () => ({ method: 'DELETE', path: `/v1/groups/${groupId}/members/${users.bob}`, token: tokens.carol }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'remove: outsider naming the owner',
    () => ({ method: 'DELETE', path: `/v1/groups/${groupId}/members/${users.alice}`, token: tokens.carol }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'remove: a member naming anyone but itself',
    () => ({ method: 'DELETE', path: `/v1/groups/${groupId}/members/${users.alice}x`, token: tokens.bob }),
    403,
    'FORBIDDEN',
  ],
  // GET /v1/groups/:groupId/members/:identity/devices
  [
    'member devices: non-member (as for an unknown group)',
    () => ({
      path: `/v1/groups/${groupId}/members/${users.alice}/devices`,
      token: tokens.carol,
      device: devices.carol1,
    }),
    404,
    'GROUP_NOT_FOUND',
  ],
  [
    'member devices: not a member of the group',
    () => ({ path: `/v1/groups/${groupId}/members/${users.carol}/devices`, token: tokens.bob, device: devices.bob1 }),
    404,
    'NOT_FOUND',
  ],
];

describe('bad input to every route', () => {
  itRefuses(fx, cases);
});
