import { MAX_JSON_BODY_BYTES } from '@conduit/shared';
import { describe } from 'vitest';
import {
  PASSWORD,
  badJson,
  big,
  devices,
  itRefuses,
  tamper,
  useAppFixture,
  users,
  type RefusalCase,
} from '../testing/app-fixture.js';

// Refusals of the auth, device and token routes; the fixture is in testing/app-fixture.ts.
const fx = useAppFixture();
const { tokens } = fx;

const cases: RefusalCase[] = [
  // POST /v1/auth/register
  [
    'register: malformed JSON',
    () => ({ method: 'POST', path: '/v1/auth/register', body: badJson }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: wrong types',
    () => ({ method: 'POST', path: '/v1/auth/register', body: { identity: 1, password: true } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: unknown field',
    () => ({ method: 'POST', path: '/v1/auth/register', body: { identity: 'zed', password: PASSWORD, admin: true } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: bad identity',
    () => ({ method: 'POST', path: '/v1/auth/register', body: { identity: 'a b/c', password: PASSWORD } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: short password',
    () => ({ method: 'POST', path: '/v1/auth/register', body: { identity: 'zed', password: 'short' } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: JSON array body',
    () => ({ method: 'POST', path: '/v1/auth/register', body: '[1,2]' }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'register: oversize body',
    () => ({
      method: 'POST',
      path: '/v1/auth/register',
      body: { identity: 'zed', password: big(MAX_JSON_BODY_BYTES) },
    }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'register: form body',
    () => ({
      method: 'POST',
      path: '/v1/auth/register',
      body: 'identity=zed',
      contentType: 'application/x-www-form-urlencoded',
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'register: gzip body',
    () => ({
      method: 'POST',
      path: '/v1/auth/register',
      body: { identity: 'zed', password: PASSWORD },
      headers: { 'content-encoding': 'gzip' },
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  ['register: no body', () => ({ method: 'POST', path: '/v1/auth/register' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  [
    'register: taken identity',
    () => ({ method: 'POST', path: '/v1/auth/register', body: { identity: users.alice, password: PASSWORD } }),
    409,
    'IDENTITY_TAKEN',
  ],
  // POST /v1/auth/password
  [
    'password: wrong old password',
    () => ({
      method: 'POST',
      path: '/v1/auth/password',
      body: { identity: users.alice, password: 'wrong password', newPassword: 'another password' },
    }),
    401,
    'INVALID_CREDENTIALS',
  ],
  [
    'password: unknown identity',
    () => ({
      method: 'POST',
      path: '/v1/auth/password',
      body: { identity: 'nobody-here', password: PASSWORD, newPassword: 'another password' },
    }),
    401,
    'INVALID_CREDENTIALS',
  ],
  [
    'password: new password too short',
    () => ({
      method: 'POST',
      path: '/v1/auth/password',
      body: { identity: users.alice, password: PASSWORD, newPassword: 'short' },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  // POST /v1/auth/login
  [
    'login: wrong password',
    () => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: users.alice, password: 'wrong password', deviceId: devices.alice1 },
    }),
    401,
    'INVALID_CREDENTIALS',
  ],
  [
    'login: unknown identity',
    () => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: 'nobody-here', password: PASSWORD, deviceId: devices.alice1 },
    }),
    401,
    'INVALID_CREDENTIALS',
  ],
  [
    'login: no device id',
    () => ({ method: 'POST', path: '/v1/auth/login', body: { identity: users.alice, password: PASSWORD } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'login: bad device id',
    () => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: users.alice, password: PASSWORD, deviceId: 'bad/device' },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'login: malformed JSON',
    () => ({ method: 'POST', path: '/v1/auth/login', body: badJson }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'login: unknown field',
    () => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: users.alice, password: PASSWORD, deviceId: devices.alice1, otp: 1 },
    }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'login: oversize body',
    () => ({ method: 'POST', path: '/v1/auth/login', body: big(MAX_JSON_BODY_BYTES + 1) }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'login: text body',
    () => ({ method: 'POST', path: '/v1/auth/login', body: 'hi', contentType: 'text/plain' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  // PUT /v1/devices/:deviceId
  ['device: missing auth', () => ({ method: 'PUT', path: `/v1/devices/${devices.alice1}` }), 401, 'UNAUTHENTICATED'],
  [
    'device: bad token',
    () => ({ method: 'PUT', path: `/v1/devices/${devices.alice1}`, token: 'not.a.jwt' }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'device: basic auth',
    () => ({ method: 'PUT', path: `/v1/devices/${devices.alice1}`, headers: { authorization: 'Basic YTpi' } }),
    401,
    'UNAUTHENTICATED',
  ],
  [
    'device: too short id',
    () => ({ method: 'PUT', path: '/v1/devices/short', token: tokens.alice }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'device: bad characters',
    () => ({ method: 'PUT', path: '/v1/devices/bad%24device%24id', token: tokens.alice }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'device: bad percent-encoding',
    () => ({ method: 'PUT', path: '/v1/devices/%E0%A4%A', token: tokens.alice }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    "device: another device's id",
    () => ({ method: 'PUT', path: `/v1/devices/${devices.alice2}`, token: tokens.alice }),
    403,
    'FORBIDDEN',
  ],
  [
    'device: a new id from an unenrolled session',
    () => ({ method: 'PUT', path: '/v1/devices/bob-device-98', token: tokens.bob99 }),
    403,
    'FORBIDDEN',
  ],
  [
    'device: header naming another device',
    () => ({ method: 'PUT', path: `/v1/devices/${devices.alice1}`, token: tokens.alice, device: devices.alice2 }),
    403,
    'FORBIDDEN',
  ],
  ['device list: unenrolled device', () => ({ path: '/v1/devices', token: tokens.bob99 }), 403, 'UNKNOWN_DEVICE'],
  // GET /v1/tokens/*
  ['virgil token: missing auth', () => ({ path: '/v1/tokens/virgil' }), 401, 'UNAUTHENTICATED'],
  [
    'virgil token: bad token',
    () => ({ path: '/v1/tokens/virgil', token: tamper(tokens.alice) }),
    401,
    'UNAUTHENTICATED',
  ],
  ['sync token: missing auth', () => ({ path: '/v1/tokens/sync' }), 401, 'UNAUTHENTICATED'],
  ['sync token: bad token', () => ({ path: '/v1/tokens/sync', token: tamper(tokens.bob) }), 401, 'UNAUTHENTICATED'],
  ['sync token: unenrolled device', () => ({ path: '/v1/tokens/sync', token: tokens.bob99 }), 403, 'UNKNOWN_DEVICE'],
];

describe('bad input to every route', () => {
  itRefuses(fx, cases);
});
