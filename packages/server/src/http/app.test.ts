import { randomBytes } from 'node:crypto';
import { envelopeSha256, ErrorCodes, MAX_JSON_BODY_BYTES, objectKeyOf, syncMapOf } from '@conduit/shared';
import type { ErrorCode } from '@conduit/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { startServer, startWorker, type RunningServer, type RunningWorker } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  deleteKeys,
  eventually,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError, type Call } from '../testing/http.js';

const prefix = randomKeyPrefix();
const objectStore = new FakeObjectStore();
const syncAdmin = new FakeSyncAdmin();
const deps = {
  objectStore,
  syncAdmin,
  virgilTokens: new FakeTokenIssuer('virgil'),
  syncTokens: new FakeTokenIssuer('sync'),
};
let server: RunningServer;
const { call, ok, login, enroll } = apiCaller(() => server.url);
let oidcServer: RunningServer;

const hex = () => randomBytes(16).toString('hex');
/** The server only hashes and forwards the sealed envelope: any base64 stands in for one. */
const ENVELOPE = Buffer.from('a sealed envelope').toString('base64');
const pointerBody = (pointerId: string, objectId: string, size = 10) => ({
  pointerId,
  objectId,
  size,
  envelope: ENVELOPE,
});
/** An ack naming the binding; the server does not verify the signature (the sender's SDK does). */
const receiptFor = (objectId: string) => ({ objectId, envelopeSha256: envelopeSha256(ENVELOPE), signature: 'c2ln' });
const PASSWORD = 'correct horse battery';

// Fixture: alice owns a group with bob; carol is registered but outside it. Each session is bound
// to one device: tokens.alice to alice1, tokens.alice2 to alice2; bob99 is logged in, never enrolled.
const users = { alice: 'alice', bob: 'bob.b@example', carol: 'carol' };
const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  bob99: 'bob-device-99',
  carol1: 'carol-device-1',
};
const tokens = { alice: '', alice2: '', bob: '', bob99: '', carol: '' };
const groupId = hex();
let objectId: string;
let pointerId: string;

beforeAll(async () => {
  server = await startServer(testConfig(prefix), deps);
  oidcServer = await startServer(
    testConfig(prefix, {
      auth: { mode: 'oidc', issuer: 'https://idp.test', audience: 'conduit', jwksUrl: 'http://127.0.0.1:9/jwks' },
    }),
    deps,
  );
  for (const identity of Object.values(users)) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
  }
  tokens.alice = await enroll(users.alice, PASSWORD, devices.alice1);
  tokens.alice2 = await enroll(users.alice, PASSWORD, devices.alice2);
  tokens.bob = await enroll(users.bob, PASSWORD, devices.bob1);
  tokens.bob99 = await login(users.bob, PASSWORD, devices.bob99);
  tokens.carol = await enroll(users.carol, PASSWORD, devices.carol1);
  await ok({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: [users.bob] } }, 201);
  const upload = await ok<{ objectId: string }>(
    { method: 'POST', path: `/v1/groups/${groupId}/objects`, token: tokens.alice, body: { size: 10 } },
    201,
  );
  objectId = upload.objectId;
  objectStore.put(objectKeyOf(groupId, objectId), 10);
  pointerId = hex();
  await ok(
    {
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: pointerBody(pointerId, objectId),
    },
    201,
  );
});

afterAll(async () => {
  await server?.close();
  await oidcServer?.close();
  await deleteKeys(prefix);
});

describe('happy path', () => {
  it('register, login, device, tokens, group, upload, download, pointer, ack, status, purge', async () => {
    const dave = `dave-${hex().slice(0, 8)}`;
    const daveDevice = 'dave-device-1';
    const daveLogin = (password: string) => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: dave, password, deviceId: daveDevice },
    });
    expect(
      await ok({ method: 'POST', path: '/v1/auth/register', body: { identity: dave, password: PASSWORD } }, 201),
    ).toEqual({
      identity: dave,
    });
    const session = await ok<{ token: string; identity: string; expiresAt: string }>(daveLogin(PASSWORD));
    expect(session.identity).toBe(dave);
    const hours = (Date.parse(session.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    const newPassword = 'a brand new password';
    await ok(
      { method: 'POST', path: '/v1/auth/password', body: { identity: dave, password: PASSWORD, newPassword } },
      204,
    );
    const refused = await call(daveLogin(PASSWORD));
    expect(refused.status).toBe(401);
    // The password change ended the session opened before it.
    expect((await call({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token: session.token })).status).toBe(401);
    const token = (await ok<{ token: string }>(daveLogin(newPassword))).token;

    const device = await ok<{ createdAt: string }>({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token });
    expect(device).toMatchObject({ identity: dave, deviceId: daveDevice });
    // Idempotent: same createdAt the second time.
    expect(await ok({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token })).toEqual(device);

    expect(await ok({ path: '/v1/tokens/virgil', token })).toMatchObject({ token: `virgil-token-for-${dave}` });
    expect(await ok({ path: '/v1/tokens/sync', token })).toMatchObject({
      token: `sync-token-for-${dave}`,
      identity: dave,
    });

    // dave owns a group with alice; alice's two devices are recipients of dave's pointer.
    const g = hex();
    const view = await ok(
      { method: 'POST', path: '/v1/groups', token, body: { groupId: g, members: [users.alice, users.alice] } },
      201,
    );
    expect(view).toMatchObject({ groupId: g, owner: dave, members: [users.alice], syncMap: syncMapOf(g) });
    expect(syncAdmin.maps.has(syncMapOf(g))).toBe(true);
    // Read-only for everyone, the owner included: only the server writes the map.
    const readOnly = { read: true, write: false, manage: false };
    expect(syncAdmin.permissions.get(`${syncMapOf(g)}/${dave}`)).toEqual(readOnly);
    expect(syncAdmin.permissions.get(`${syncMapOf(g)}/${users.alice}`)).toEqual(readOnly);
    expect(await ok({ path: `/v1/groups/${g}`, token: tokens.alice })).toEqual(view);

    const put = await ok<{ objectId: string; method: string; headers: Record<string, string> }>(
      { method: 'POST', path: `/v1/groups/${g}/objects`, token, body: { size: 1234 } },
      201,
    );
    expect(put.method).toBe('PUT');
    expect(put.headers).toEqual({ 'content-length': '1234' });
    expect(objectStore.presigned.at(-1)).toEqual({ method: 'PUT', key: objectKeyOf(g, put.objectId), size: 1234 });
    objectStore.put(objectKeyOf(g, put.objectId), 1234);
    const get = await ok({ path: `/v1/groups/${g}/objects/${put.objectId}`, token: tokens.alice });
    expect(get).toMatchObject({ objectId: put.objectId, method: 'GET' });

    const p = hex();
    const registration = await ok(
      {
        method: 'POST',
        path: `/v1/groups/${g}/pointers`,
        token,
        device: daveDevice,
        body: pointerBody(p, put.objectId, 1234),
      },
      201,
    );
    expect(registration).toEqual({
      pointerId: p,
      groupId: g,
      syncMap: syncMapOf(g),
      itemKey: p,
      itemTtlSeconds: 3600,
      expected: [
        { identity: users.alice, deviceId: devices.alice1 },
        { identity: users.alice, deviceId: devices.alice2 },
      ],
      state: 'pending',
      createdAt: expect.any(String),
    });
    // The server published the item, with the sender taken from the session.
    expect(syncAdmin.items.get(`${syncMapOf(g)}/${p}`)?.data).toMatchObject({
      v: 1,
      kind: 'file',
      id: p,
      sender: { identity: dave, deviceId: daveDevice },
      objectId: put.objectId,
      size: 1234,
      envelope: ENVELOPE,
    });
    // The sender retrying (a crash between registering and publishing) gets the same registration.
    const register = () =>
      call({
        method: 'POST',
        path: `/v1/groups/${g}/pointers`,
        token,
        device: daveDevice,
        body: pointerBody(p, put.objectId, 1234),
      });
    const retried = await register();
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(registration);

    // Each of alice's devices acknowledges with its own session (the header may repeat its device).
    const ack = (token: string, device?: string) =>
      ok({ method: 'POST', path: `/v1/pointers/${p}/ack`, token, device, body: receiptFor(put.objectId) });
    expect(await ack(tokens.alice, devices.alice1)).toEqual({ pointerId: p, remaining: 1, complete: false });
    expect(await ack(tokens.alice)).toEqual({ pointerId: p, remaining: 1, complete: false });
    const pending = await ok<{ state: string; acknowledged: unknown[] }>({ path: `/v1/pointers/${p}`, token });
    expect(pending).toMatchObject({ state: 'pending', sender: { identity: dave, deviceId: daveDevice } });
    expect(pending.acknowledged).toEqual([{ identity: users.alice, deviceId: devices.alice1 }]);
    expect(await ack(tokens.alice2)).toEqual({ pointerId: p, remaining: 0, complete: true });
    expect(await ok({ path: `/v1/pointers/${p}`, token })).toMatchObject({ state: 'purging' });

    // The worker drains the outbox and deletes the Sync item.
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker(testConfig(prefix), deps);
      const done = await eventually(async () => {
        const status = await ok<{ state: string; purgedAt?: string }>({ path: `/v1/pointers/${p}`, token });
        return status.state === 'purged' ? status : undefined;
      });
      expect(done.purgedAt).toBeDefined();
      expect(syncAdmin.removeCalls).toContainEqual({ map: syncMapOf(g), key: p });
      // A retry after the purge says so, and the sender does not publish again.
      expect((await register()).body).toMatchObject({ pointerId: p, state: 'purged' });
    } finally {
      await worker?.close();
    }
  });

  it('a Sync failure while publishing is a 503; the sender retrying publishes the same pointer', async () => {
    const p = hex();
    const register = () =>
      call({
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: tokens.alice,
        device: devices.alice1,
        body: pointerBody(p, objectId),
      });
    syncAdmin.failSetItem = true;
    try {
      const failed = await register();
      expect(failed.status).toBe(503);
      expectError(failed.body, 'DEPENDENCY_UNAVAILABLE');
    } finally {
      syncAdmin.failSetItem = false;
    }
    expect(syncAdmin.items.has(`${syncMapOf(groupId)}/${p}`)).toBe(false);
    const retried = await register();
    expect(retried.status).toBe(200); // registered by the first attempt
    expect(syncAdmin.items.get(`${syncMapOf(groupId)}/${p}`)?.data).toMatchObject({ id: p, envelope: ENVELOPE });
    // Another binding under the same id is refused, and the item is not touched.
    const other = await call({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: { ...pointerBody(p, objectId), envelope: Buffer.from('another').toString('base64') },
    });
    expect(other.status).toBe(409);
    expectError(other.body, 'POINTER_EXISTS');
    expect(syncAdmin.items.get(`${syncMapOf(groupId)}/${p}`)?.data).toMatchObject({ envelope: ENVELOPE });
  });

  it('GET /healthz answers without authentication', async () => {
    expect(await ok({ path: '/healthz' })).toEqual({ status: 'ok' });
  });

  it('does not advertise the framework and marks responses uncacheable', async () => {
    const res = await call({ path: '/healthz' });
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a second group with the same id from another owner', async () => {
    const res = await call({ method: 'POST', path: '/v1/groups', token: tokens.carol, body: { groupId, members: [] } });
    expect(res.status).toBe(409);
    expectError(res.body, 'GROUP_EXISTS');
  });
});

/** The error body every failure must have: code, message and, at most, details. */

type Case = [name: string, call: () => Call, status: number, code: ErrorCode];

const big = (n: number) => 'x'.repeat(n);
const badJson = '{"identity": "alice",';
const cases: Case[] = [
  // routing
  ['unknown route', () => ({ path: '/v1/nope' }), 404, 'NOT_FOUND'],
  ['unknown root route', () => ({ path: '/' }), 404, 'NOT_FOUND'],
  [
    'wrong method',
    () => ({ method: 'DELETE', path: `/v1/groups/${groupId}`, token: tokens.alice }),
    405,
    'METHOD_NOT_ALLOWED',
  ],
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
  ['download: missing auth', () => ({ path: `/v1/groups/${groupId}/objects/${objectId}` }), 401, 'UNAUTHENTICATED'],
  [
    'download: bad object id',
    () => ({ path: `/v1/groups/${groupId}/objects/${objectId.toUpperCase()}`, token: tokens.bob }),
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
    () => ({ path: `/v1/groups/${groupId}/objects/${objectId}`, token: tokens.carol }),
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
      body: pointerBody(hex(), objectId),
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
      body: pointerBody(hex(), objectId),
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
      body: pointerBody(hex(), objectId),
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
      body: pointerBody(hex(), objectId),
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
      body: pointerBody(hex(), objectId),
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
      body: pointerBody('p1', objectId),
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
      body: { ...pointerBody(hex(), objectId), expected: [] },
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
      body: pointerBody(pointerId, objectId),
    }),
    409,
    'POINTER_EXISTS',
  ],
  // POST /v1/pointers/:pointerId/ack
  [
    'ack: missing auth',
    () => ({ method: 'POST', path: `/v1/pointers/${pointerId}/ack`, device: devices.bob1, body: receiptFor(objectId) }),
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
      body: receiptFor(objectId),
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
      body: receiptFor(objectId),
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
      body: receiptFor(objectId),
    }),
    403,
    'FORBIDDEN',
  ],
  [
    'ack: unenrolled device',
    () => ({ method: 'POST', path: `/v1/pointers/${pointerId}/ack`, token: tokens.bob99, body: receiptFor(objectId) }),
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
      body: receiptFor(objectId),
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
      body: receiptFor(objectId),
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
      body: receiptFor(objectId),
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
      body: receiptFor(objectId),
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
      body: { ...receiptFor(objectId), envelopeSha256: 'ee'.repeat(32) },
    }),
    409,
    'POINTER_MISMATCH',
  ],
  [
    'pointer: size differs from the stored object',
    () => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: pointerBody(hex(), objectId, 11),
    }),
    400,
    'VALIDATION_FAILED',
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
  // GET /v1/pointers/:pointerId
  ['status: missing auth', () => ({ path: `/v1/pointers/${pointerId}` }), 401, 'UNAUTHENTICATED'],
  ['status: bad id', () => ({ path: '/v1/pointers/zz', token: tokens.bob }), 400, 'VALIDATION_FAILED'],
  ['status: unknown pointer', () => ({ path: `/v1/pointers/${hex()}`, token: tokens.bob }), 404, 'POINTER_NOT_FOUND'],
  ['status: non-member', () => ({ path: `/v1/pointers/${pointerId}`, token: tokens.carol }), 404, 'POINTER_NOT_FOUND'],
];

/** Flips one character of the signature: still well-formed, no longer valid. */
function tamper(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`;
}

describe('bad input to every route', () => {
  it.each(cases.map(([name, c, status, code]) => [`${name} -> ${status} ${code}`, c, status, code] as const))(
    '%s',
    async (_title, makeCall, status, code) => {
      expect(ErrorCodes[code].status).toBe(status);
      const res = await call(makeCall());
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expectError(res.body, code);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    },
  );

  it('login failures are indistinguishable for unknown identities and wrong passwords', async () => {
    const unknown = await call({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: 'nobody-here', password: PASSWORD, deviceId: devices.alice1 },
    });
    const wrong = await call({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: users.alice, password: 'wrong password', deviceId: devices.alice1 },
    });
    expect(unknown).toMatchObject({ status: 401 });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('names unregistered members but not registered ones', async () => {
    const res = await call({
      method: 'POST',
      path: '/v1/groups',
      token: tokens.alice,
      body: { groupId: hex(), members: [users.bob, 'ghost'] },
    });
    expect(res.body).toMatchObject({ error: { code: 'IDENTITY_NOT_FOUND', details: { identities: ['ghost'] } } });
  });

  it('a token signed with another secret is refused', async () => {
    const otherPrefix = randomKeyPrefix();
    const other = await startServer(testConfig(otherPrefix), deps);
    try {
      const res = await fetch(`${other.url}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'mallory', password: PASSWORD }),
      });
      expect(res.status).toBe(201);
      const login = await fetch(`${other.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'mallory', password: PASSWORD, deviceId: 'mallory-device' }),
      });
      const { token } = (await login.json()) as { token: string };
      expect((await call({ path: '/v1/tokens/sync', token })).status).toBe(401);
    } finally {
      await other.close();
      await deleteKeys(otherPrefix);
    }
  });

  it('a group whose Sync provisioning failed is invisible and can be retried by its owner', async () => {
    const g = hex();
    syncAdmin.failEnsureMap = true;
    try {
      const failed = await call({
        method: 'POST',
        path: '/v1/groups',
        token: tokens.bob,
        body: { groupId: g, members: [users.alice] },
      });
      expect(failed.status, JSON.stringify(failed.body)).toBe(503);
      expectError(failed.body, 'DEPENDENCY_UNAVAILABLE');
    } finally {
      syncAdmin.failEnsureMap = false;
    }
    expect((await call({ path: `/v1/groups/${g}`, token: tokens.bob })).status).toBe(404);
    // Someone else (or other members) cannot take over the half-made group.
    expect(
      (await call({ method: 'POST', path: '/v1/groups', token: tokens.carol, body: { groupId: g, members: [] } }))
        .status,
    ).toBe(409);
    expect(
      (
        await call({
          method: 'POST',
          path: '/v1/groups',
          token: tokens.bob,
          body: { groupId: g, members: [users.carol] },
        })
      ).status,
    ).toBe(409);
    await ok(
      { method: 'POST', path: '/v1/groups', token: tokens.bob, body: { groupId: g, members: [users.alice] } },
      201,
    );
    await ok({ path: `/v1/groups/${g}`, token: tokens.alice });
  });

  it('auth routes do not exist in OIDC mode', async () => {
    for (const path of ['/v1/auth/register', '/v1/auth/login']) {
      const res = await call({ method: 'POST', path, body: { identity: 'zed', password: PASSWORD } }, oidcServer.url);
      expect(res.status).toBe(404);
      expectError(res.body, 'NOT_FOUND');
    }
  });
});

describe('unexpected failures', () => {
  it('become 500 INTERNAL without details, and are logged without credentials', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const failing = new FakeObjectStore();
    failing.presignPut = async () => {
      throw new Error('s3 exploded');
    };
    const p = randomKeyPrefix();
    const broken = await startServer(testConfig(p), { ...deps, objectStore: failing, logger });
    try {
      const register = { identity: 'erin', password: PASSWORD };
      const send = (method: string, path: string, body: unknown, token?: string) =>
        fetch(broken.url + path, {
          method,
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const post = (path: string, body: unknown, token?: string) => send('POST', path, body, token);
      await post('/v1/auth/register', register);
      const login = await post('/v1/auth/login', { ...register, deviceId: 'erin-device-1' });
      const { token } = (await login.json()) as { token: string };
      expect((await send('PUT', '/v1/devices/erin-device-1', {}, token)).status).toBe(200);
      const g = hex();
      expect((await post('/v1/groups', { groupId: g, members: [] }, token)).status).toBe(201);
      const res = await post(`/v1/groups/${g}/objects`, { size: 5 }, token);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error.' } });

      const logged = lines.join('\n');
      expect(logged).toContain('s3 exploded');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(PASSWORD);
    } finally {
      await broken.close();
      await deleteKeys(p);
    }
  });

  it('redaction removes credentials that reach a log object', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info(
      { req: { headers: { authorization: 'Bearer secret-token' } }, password: 'hunter22', user: { token: 't0k' } },
      'x',
    );
    expect(lines.join('')).not.toMatch(/secret-token|hunter22|t0k/);
  });
});
