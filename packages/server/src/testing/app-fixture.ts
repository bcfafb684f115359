import { randomBytes } from 'node:crypto';
import { envelopeSha256, objectKeyOf } from '@conduit/shared';
import { afterAll, beforeAll, expect } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import { FakeObjectStore, FakeSyncAdmin, FakeTokenIssuer, deleteKeys, randomKeyPrefix, testConfig } from './fakes.js';
import { apiCaller, itRefusesAll, type RefusalCase } from './http.js';

export type { RefusalCase } from './http.js';

/**
 * The route-test fixture on fake ports: real Redis and HTTP, a dev-auth server and an OIDC-mode
 * one. alice owns a group with bob; carol is registered but outside it. Each session is bound to
 * one device: tokens.alice to alice1, tokens.alice2 to alice2; bob99 is logged in, never enrolled.
 * alice1 has registered one pointer (`pointerId`) for one uploaded object (`objectId`).
 */

export const PASSWORD = 'correct horse battery';
export const hex = (): string => randomBytes(16).toString('hex');
/** The server only hashes and forwards the sealed envelope: any base64 stands in for one. */
export const ENVELOPE = Buffer.from('a sealed envelope').toString('base64');
export const pointerBody = (pointerId: string, objectId: string, size = 10) => ({
  pointerId,
  objectId,
  size,
  envelope: ENVELOPE,
});
/** An ack naming the binding; the server does not verify the signature (the sender's SDK does). */
export const receiptFor = (objectId: string) => ({
  objectId,
  envelopeSha256: envelopeSha256(ENVELOPE),
  signature: 'c2ln',
});

export const users = { alice: 'alice', bob: 'bob.b@example', carol: 'carol' };
export const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  bob99: 'bob-device-99',
  carol1: 'carol-device-1',
};

export const big = (n: number): string => 'x'.repeat(n);
export const badJson = '{"identity": "alice",';

/** Flips one character of the signature: still well-formed, no longer valid. */
export function tamper(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`;
}

/** Starts the fixture in this file's beforeAll and stops it in its afterAll. */
export function useAppFixture() {
  const prefix = randomKeyPrefix();
  const objectStore = new FakeObjectStore();
  const syncAdmin = new FakeSyncAdmin();
  const deps = {
    objectStore,
    syncAdmin,
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  };
  let server: RunningServer | undefined;
  let oidcServer: RunningServer | undefined;
  const api = apiCaller(() => server!.url);
  const fx = {
    ...api,
    prefix,
    objectStore,
    syncAdmin,
    deps,
    tokens: { alice: '', alice2: '', bob: '', bob99: '', carol: '' },
    groupId: hex(),
    objectId: '',
    pointerId: hex(),
    /** The OIDC-mode server's base URL (it shares the Redis prefix and ports). */
    oidcUrl: () => oidcServer!.url,
  };

  beforeAll(async () => {
    server = await startServer(testConfig(prefix), deps);
    oidcServer = await startServer(
      testConfig(prefix, {
        auth: { mode: 'oidc', issuer: 'https://idp.test', audience: 'conduit', jwksUrl: 'http://127.0.0.1:9/jwks' },
      }),
      deps,
    );
    const { ok, registerAll, login, enroll } = api;
    await registerAll(Object.values(users), PASSWORD);
    const { tokens, groupId } = fx;
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
    fx.objectId = upload.objectId;
    objectStore.put(objectKeyOf(groupId, fx.objectId), 10);
    await ok(
      {
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: tokens.alice,
        device: devices.alice1,
        body: pointerBody(fx.pointerId, fx.objectId),
      },
      201,
    );
  });

  afterAll(async () => {
    await server?.close();
    await oidcServer?.close();
    await deleteKeys(prefix);
  });

  return fx;
}

export type AppFixture = ReturnType<typeof useAppFixture>;

/** One test per case, as itRefusesAll, and no stack trace in any error body. */
export function itRefuses(fx: AppFixture, cases: RefusalCase[]): void {
  itRefusesAll(fx.call, cases, (res) => expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/));
}
