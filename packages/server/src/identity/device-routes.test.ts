import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { objectKeyOf } from '@conduit/shared';
import type { DeviceList, ErrorCode, PointerRegistration, PointerStatus } from '@conduit/shared';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRepository } from '../adapters/redis/devices.js';
import { createKeys } from '../adapters/redis/keys.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError, type Call } from '../testing/http.js';

// Device-bound sessions and revocation: real Redis and HTTP, fake S3/Sync/token ports; OIDC mode
// against a local JWKS with the real OidcAuthenticator.
const prefix = randomKeyPrefix();
const hex = () => randomBytes(16).toString('hex');
const PASSWORD = 'correct horse battery';
const objectStore = new FakeObjectStore();
const deps = {
  objectStore,
  syncAdmin: new FakeSyncAdmin(),
  virgilTokens: new FakeTokenIssuer('virgil'),
  syncTokens: new FakeTokenIssuer('sync'),
};
let server: RunningServer;
let oidcServer: RunningServer;
let jwks: Server;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let redis: Redis;
const { call, ok, login, enroll } = apiCaller(() => server.url);
const oidc = apiCaller(() => oidcServer.url);
const OIDC = { issuer: 'https://idp.test', audience: 'conduit' };

async function expectCode(c: Call, status: number, code: ErrorCode, caller = call): Promise<void> {
  const res = await caller(c);
  expect(res.status, `${c.method ?? 'GET'} ${c.path}: ${JSON.stringify(res.body)}`).toBe(status);
  expectError(res.body, code);
}

/** A fresh identity (dev auth) with its devices enrolled, each with its own session. */
async function identityWith(...deviceIds: string[]): Promise<{ identity: string; tokens: string[] }> {
  const identity = `user-${hex().slice(0, 8)}`;
  await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
  const tokens: string[] = [];
  for (const deviceId of deviceIds) tokens.push(await enroll(identity, PASSWORD, deviceId));
  return { identity, tokens };
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  server = await startServer(testConfig(prefix), deps);
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  oidcServer = await startServer(testConfig(prefix, { auth: { mode: 'oidc', ...OIDC, jwksUrl } }), deps);
});

afterAll(async () => {
  await server?.close();
  await oidcServer?.close();
  await new Promise((resolve) => jwks?.close(resolve));
  await redis?.quit();
  await deleteKeys(prefix);
});

describe('revoking a device', () => {
  it("refuses the revoked device's session on every route at once; the other device keeps working", async () => {
    const { identity, tokens } = await identityWith('laptop-0001', 'phone-0001');
    const [laptop, phone] = tokens as [string, string];
    const groupId = hex();
    await ok({ method: 'POST', path: '/v1/groups', token: phone, body: { groupId, members: [] } }, 201);
    const objectId = hex();
    objectStore.put(objectKeyOf(groupId, objectId), 10);
    const pointer = await ok<PointerRegistration>(
      {
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: phone,
        body: { pointerId: hex(), objectId, size: 10, envelope: 'c2VhbGVk' },
      },
      201,
    );
    expect(pointer.expected).toEqual([{ identity, deviceId: 'laptop-0001' }]);
    await ok({ path: '/v1/tokens/sync', token: laptop });

    await ok({ method: 'DELETE', path: '/v1/devices/laptop-0001', token: phone }, 204);

    const refused: Call[] = [
      { path: '/v1/tokens/sync' },
      { path: '/v1/tokens/virgil' },
      { path: '/v1/groups' },
      { path: `/v1/groups/${groupId}` },
      { method: 'POST', path: `/v1/groups/${groupId}/objects`, body: { size: 1 } },
      {
        method: 'POST',
        path: `/v1/pointers/${pointer.pointerId}/ack`,
        body: { objectId, envelopeSha256: 'ab'.repeat(32), signature: 'c2ln' },
      },
      { path: `/v1/pointers/${pointer.pointerId}` },
      { path: '/v1/devices' },
      { method: 'PUT', path: '/v1/devices/laptop-0001' },
      { method: 'PUT', path: '/v1/devices/laptop-0002' },
      { method: 'DELETE', path: '/v1/devices/phone-0001' },
      { path: '/v1/tokens/sync', device: 'laptop-0001' },
    ];
    for (const c of refused) await expectCode({ ...c, token: laptop }, 403, 'DEVICE_REVOKED');

    // Its pending acknowledgement was dropped (nobody else to wait for: purging).
    expect(await ok<PointerStatus>({ path: `/v1/pointers/${pointer.pointerId}`, token: phone })).toMatchObject({
      state: 'purging',
      reason: 'device-removed',
      dropped: [{ identity, deviceId: 'laptop-0001' }],
    });
    expect(await ok({ path: '/v1/tokens/sync', token: phone })).toMatchObject({ identity });
    await ok({ path: `/v1/groups/${groupId}`, token: phone });
    const list = await ok<DeviceList>({ path: '/v1/devices', token: phone });
    expect(list.devices.map((d) => d.deviceId)).toEqual(['phone-0001']);
  });

  it('is permanent: the revoked id can neither log in nor enroll again; a new device id can', async () => {
    const { identity, tokens } = await identityWith('laptop-0001', 'phone-0001');
    const phone = tokens[1]!;
    await ok({ method: 'DELETE', path: '/v1/devices/laptop-0001', token: phone }, 204);
    await ok({ method: 'DELETE', path: '/v1/devices/laptop-0001', token: phone }, 204); // idempotent

    const loginAs = (password: string, deviceId = 'laptop-0001'): Call => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity, password, deviceId },
    });
    await expectCode(loginAs(PASSWORD), 403, 'DEVICE_REVOKED');
    // Without the password nothing is revealed about the device.
    await expectCode(loginAs('wrong password'), 401, 'INVALID_CREDENTIALS');

    const fresh = await enroll(identity, PASSWORD, 'laptop-0002');
    const list = await ok<DeviceList>({ path: '/v1/devices', token: fresh });
    expect(list.devices.map((d) => d.deviceId).sort()).toEqual(['laptop-0002', 'phone-0001']);
  });

  it('revoking this very device ends its own session', async () => {
    const { tokens } = await identityWith('tablet-0001');
    await ok({ method: 'DELETE', path: '/v1/devices/tablet-0001', token: tokens[0] }, 204);
    await expectCode({ path: '/v1/groups', token: tokens[0] }, 403, 'DEVICE_REVOKED');
  });

  it('the repository refuses a revoked id atomically, even one never registered', async () => {
    const devices = new DeviceRepository(redis, createKeys(prefix));
    const identity = `repo-${hex().slice(0, 8)}`;
    const now = new Date();
    expect(await devices.register(identity, 'device-a1', now)).toEqual({ ok: true, createdAt: now.toISOString() });
    expect(await devices.status(identity, 'device-a1')).toBe('active');
    expect(await devices.revoke(identity, 'device-a1')).toBe(true);
    expect(await devices.revoke(identity, 'device-a1')).toBe(false);
    expect(await devices.status(identity, 'device-a1')).toBe('revoked');
    expect(await devices.register(identity, 'device-a1', now)).toEqual({ ok: false, reason: 'REVOKED' });
    expect(await devices.list(identity)).toEqual([]);

    expect(await devices.status(identity, 'device-b1')).toBe('unknown');
    expect(await devices.revoke(identity, 'device-b1')).toBe(false);
    expect(await devices.register(identity, 'device-b1', now)).toEqual({ ok: false, reason: 'REVOKED' });
  });
});

describe('a session acts for its own device only', () => {
  it('login -> enrollment of that device -> every route; nothing else before enrollment', async () => {
    const { identity } = await identityWith();
    const token = await login(identity, PASSWORD, 'desk-0001');
    for (const c of [{ path: '/v1/groups' }, { path: '/v1/tokens/sync' }, { path: '/v1/devices' }]) {
      await expectCode({ ...c, token }, 403, 'UNKNOWN_DEVICE');
    }
    // It enrolls itself only: not another id, not with a header naming another device.
    await expectCode({ method: 'PUT', path: '/v1/devices/desk-0002', token }, 403, 'FORBIDDEN');
    await expectCode({ method: 'PUT', path: '/v1/devices/desk-0001', token, device: 'desk-0002' }, 403, 'FORBIDDEN');
    await ok({ method: 'PUT', path: '/v1/devices/desk-0001', token, device: 'desk-0001' });
    await ok({ path: '/v1/tokens/sync', token });
  });

  it("refuses a Conduit-Device header naming another of the identity's devices", async () => {
    const { tokens } = await identityWith('desk-0001', 'desk-0002');
    await expectCode({ path: '/v1/groups', token: tokens[0], device: 'desk-0002' }, 403, 'FORBIDDEN');
    await expectCode({ path: '/v1/groups', token: tokens[0], device: 'no' }, 400, 'VALIDATION_FAILED');
    await ok({ path: '/v1/groups', token: tokens[0], device: 'desk-0001' });
  });
});

describe('logging out (DELETE /v1/session)', () => {
  it("ends every session of the calling device at once; the identity's other devices keep theirs", async () => {
    const { identity, tokens } = await identityWith('laptop-0001', 'phone-0001');
    const [laptop, phone] = tokens as [string, string];
    const copied = await login(identity, PASSWORD, 'laptop-0001'); // a second session of the laptop
    expect(await ok({ method: 'DELETE', path: '/v1/session', token: laptop })).toEqual({ ended: true });
    for (const token of [laptop, copied]) {
      for (const c of [
        { path: '/v1/groups' },
        { path: '/v1/tokens/sync' },
        { method: 'DELETE', path: '/v1/session' },
      ]) {
        await expectCode({ ...c, token }, 401, 'UNAUTHENTICATED');
      }
    }
    await ok({ path: '/v1/tokens/sync', token: phone });
    // The device itself is not revoked: logging in again gives it a working session.
    const again = await login(identity, PASSWORD, 'laptop-0001');
    await ok({ path: '/v1/groups', token: again });
  });

  it('works for a device not enrolled yet, and needs a session', async () => {
    const { identity } = await identityWith();
    const token = await login(identity, PASSWORD, 'desk-0001');
    expect(await ok({ method: 'DELETE', path: '/v1/session', token })).toEqual({ ended: true });
    await expectCode({ method: 'PUT', path: '/v1/devices/desk-0001', token }, 401, 'UNAUTHENTICATED');
    await expectCode({ method: 'DELETE', path: '/v1/session' }, 401, 'UNAUTHENTICATED');
    await expectCode({ method: 'POST', path: '/v1/session', token }, 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('OIDC mode: the Conduit-Device header names the device', () => {
  const idToken = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject(sub)
      .setIssuer(OIDC.issuer)
      .setAudience(OIDC.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey);
  const expectOidc = (c: Call, status: number, code: ErrorCode) => expectCode(c, status, code, oidc.call);

  it('requires the header on every authenticated route, enrollment included', async () => {
    const token = await idToken(`olivia-${hex().slice(0, 6)}`);
    for (const c of [
      { path: '/v1/groups' },
      { path: '/v1/tokens/sync' },
      { method: 'PUT', path: '/v1/devices/o-dev-01' },
    ]) {
      await expectOidc({ ...c, token }, 400, 'VALIDATION_FAILED');
    }
    await expectOidc({ path: '/v1/groups', token, device: 'o-dev-01' }, 403, 'UNKNOWN_DEVICE');
    await expectOidc({ method: 'PUT', path: '/v1/devices/o-dev-02', token, device: 'o-dev-01' }, 403, 'FORBIDDEN');
    await oidc.ok({ method: 'PUT', path: '/v1/devices/o-dev-01', token, device: 'o-dev-01' });
    expect(await oidc.ok({ path: '/v1/groups', token, device: 'o-dev-01' })).toEqual({ groups: [] });
  });

  it('refuses a revoked device on every route; the IdP token itself stays valid for other devices', async () => {
    const identity = `oscar-${hex().slice(0, 6)}`;
    const token = await idToken(identity);
    for (const d of ['o-dev-01', 'o-dev-02']) {
      await oidc.ok({ method: 'PUT', path: `/v1/devices/${d}`, token, device: d });
    }
    await oidc.ok({ method: 'DELETE', path: '/v1/devices/o-dev-01', token, device: 'o-dev-02' }, 204);
    for (const c of [
      { path: '/v1/tokens/sync' },
      { path: '/v1/groups' },
      { method: 'PUT', path: '/v1/devices/o-dev-01' },
    ]) {
      await expectOidc({ ...c, token, device: 'o-dev-01' }, 403, 'DEVICE_REVOKED');
    }
    expect(await oidc.ok({ path: '/v1/tokens/sync', token, device: 'o-dev-02' })).toMatchObject({ identity });
    // Conduit cannot revoke IdP tokens: whoever holds one can still enroll a new device id
    // (docs/identity.md: also revoke the device's session at the identity provider).
    await oidc.ok({ method: 'PUT', path: '/v1/devices/o-dev-03', token, device: 'o-dev-03' });
  });

  it("cannot end an identity provider's token: a logout says so and the token keeps working", async () => {
    const token = await idToken(`otto-${hex().slice(0, 6)}`);
    await oidc.ok({ method: 'PUT', path: '/v1/devices/o-dev-01', token, device: 'o-dev-01' });
    expect(await oidc.ok({ method: 'DELETE', path: '/v1/session', token, device: 'o-dev-01' })).toEqual({
      ended: false,
    });
    await oidc.ok({ path: '/v1/groups', token, device: 'o-dev-01' });
  });
});
