import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpaqueSetup } from './auth/opaque.js';
import { runAccountCommand } from '../ops/account-commands.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import type { ErrorCode } from '@conduit/shared';
import { apiCaller, expectError, type Reply } from '../testing/http.js';

// The OPAQUE routes on real Redis with the real opaque-ke (WebAssembly) on both sides.
const prefix = randomKeyPrefix();
const LIMIT = 8;
let server: RunningServer;
const { call, ok } = apiCaller(() => server.url);
const config = () => ({
  ...testConfig(prefix),
  authRateLimit: { attemptsPerIdentity: LIMIT, attemptsPerAddress: 10_000, windowSeconds: 60 },
});
let serverConfig: ReturnType<typeof config>;
// Cheap key stretching: these tests are about the protocol, not the cost.
const keyStretching = { 'argon2id-custom': { memory: 1024, iterations: 1, parallelism: 1 } } as const;
const name = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const refused = (res: Reply, status: number, code: ErrorCode) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expectError(res.body, code);
};
const post = (path: string, body: unknown) => call({ method: 'POST', path: `/v1/auth/opaque/${path}`, body });

async function register(identity: string, password: string, registrationCode?: string): Promise<void> {
  const start = opaque.client.startRegistration({ password });
  const code = registrationCode ? { registrationCode } : {};
  const { registrationResponse } = await ok<{ registrationResponse: string }>({
    method: 'POST',
    path: '/v1/auth/opaque/register/start',
    body: { identity, registrationRequest: start.registrationRequest, ...code },
  });
  const { registrationRecord } = opaque.client.finishRegistration({
    password,
    registrationResponse,
    clientRegistrationState: start.clientRegistrationState,
    keyStretching,
  });
  await ok(
    { method: 'POST', path: '/v1/auth/opaque/register/finish', body: { identity, registrationRecord, ...code } },
    201,
  );
}

/** login/start and the client's proof: the loginId and finishLoginRequest (undefined proof = refused by the client). */
async function prove(identity: string, password: string) {
  const start = opaque.client.startLogin({ password });
  const answer = await ok<{ loginId: string; loginResponse: string }>({
    method: 'POST',
    path: '/v1/auth/opaque/login/start',
    body: { identity, startLoginRequest: start.startLoginRequest },
  });
  const done = opaque.client.finishLogin({
    clientLoginState: start.clientLoginState,
    loginResponse: answer.loginResponse,
    password,
    keyStretching,
  });
  return { loginId: answer.loginId, finishLoginRequest: done?.finishLoginRequest, exportKey: done?.exportKey };
}

async function login(identity: string, password: string, deviceId: string): Promise<string> {
  const { loginId, finishLoginRequest } = await prove(identity, password);
  const body = { loginId, finishLoginRequest, deviceId };
  return (await ok<{ token: string }>({ method: 'POST', path: '/v1/auth/opaque/login/finish', body })).token;
}

beforeAll(async () => {
  await opaque.ready;
  serverConfig = config();
  serverConfig.auth = {
    mode: 'dev',
    sessionSecret: 'x'.repeat(40),
    opaqueServerSetup: await generateOpaqueSetup(),
    legacyRoutes: true,
  };
  const deps = {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  };
  server = await startServer(serverConfig, deps);
});

afterAll(async () => {
  await server?.close();
  await deleteKeys(prefix);
});

describe('OPAQUE routes', () => {
  it('register, log in, enroll; the export key is the same at registration and login', async () => {
    const identity = name('olga');
    await register(identity, 'olga password');
    const token = await login(identity, 'olga password', 'olga-device-1');
    await ok({ method: 'PUT', path: '/v1/devices/olga-device-1', token });
    const again = await prove(identity, 'olga password');
    expect(again.exportKey).toBeDefined();
    const wrong = await prove(identity, 'not the password');
    expect(wrong.finishLoginRequest).toBeUndefined();
    refused(await post('register/start', { identity, registrationRequest: 'AAAA' }), 409, 'IDENTITY_TAKEN');
  });

  it('validates and bounds every message; malformed OPAQUE messages are 400, never 500', async () => {
    const identity = name('val');
    const cases: [string, unknown][] = [
      ['register/start', { identity, registrationRequest: 'not base64!' }],
      ['register/start', { identity, registrationRequest: 'A'.repeat(257) }],
      ['register/start', { identity, registrationRequest: 'AAAA', admin: true }],
      ['register/start', { identity, registrationRequest: 'AAAA' }],
      ['login/start', { identity, startLoginRequest: 'AAAA' }],
      ['login/finish', { loginId: 'short', finishLoginRequest: 'AAAA', deviceId: 'device-0001' }],
      ['migrate/start', { identity, legacyPassword: 'x', registrationRequest: 'AAAA' }],
      ['reregister', { ticket: 'A'.repeat(32), registrationRecord: 'A'.repeat(1025) }],
    ];
    for (const [path, body] of cases) refused(await post(path, body), 400, 'VALIDATION_FAILED');
  });

  it('a login state is single use and a wrong proof is INVALID_CREDENTIALS', async () => {
    const identity = name('pat');
    await register(identity, 'pat password');
    const proof = await prove(identity, 'pat password');
    const other = await prove(identity, 'pat password');
    const finish = (loginId: string) =>
      post('login/finish', { loginId, finishLoginRequest: proof.finishLoginRequest, deviceId: 'pat-device-1' });
    refused(await finish(other.loginId), 401, 'INVALID_CREDENTIALS');
    expect((await finish(proof.loginId)).status).toBe(200);
    refused(await finish(proof.loginId), 401, 'INVALID_CREDENTIALS');
    refused(await finish('A'.repeat(32)), 401, 'INVALID_CREDENTIALS');
  });

  it('a password change needs a fresh proof, replaces the record and ends every session', async () => {
    const identity = name('quinn');
    await register(identity, 'quinn password 1');
    const token = await login(identity, 'quinn password 1', 'quinn-device');
    await ok({ method: 'PUT', path: '/v1/devices/quinn-device', token });
    const next = opaque.client.startRegistration({ password: 'quinn password 2' });

    const bogus = await prove(identity, 'quinn password 1');
    const stale = await prove(identity, 'quinn password 1');
    const noProof = await post('password/start', {
      loginId: bogus.loginId,
      finishLoginRequest: stale.finishLoginRequest,
      registrationRequest: next.registrationRequest,
    });
    refused(noProof, 401, 'INVALID_CREDENTIALS');

    const proof = await prove(identity, 'quinn password 1');
    const { ticket, registrationResponse } = await ok<{ ticket: string; registrationResponse: string }>({
      method: 'POST',
      path: '/v1/auth/opaque/password/start',
      body: {
        loginId: proof.loginId,
        finishLoginRequest: proof.finishLoginRequest,
        registrationRequest: next.registrationRequest,
      },
    });
    const { registrationRecord } = opaque.client.finishRegistration({
      password: 'quinn password 2',
      registrationResponse,
      clientRegistrationState: next.clientRegistrationState,
      keyStretching,
    });
    expect((await post('reregister', { ticket, registrationRecord })).status).toBe(204);
    refused(await post('reregister', { ticket, registrationRecord }), 401, 'INVALID_CREDENTIALS');

    refused(await call({ path: '/v1/devices', token }), 401, 'UNAUTHENTICATED');
    expect((await prove(identity, 'quinn password 1')).finishLoginRequest).toBeUndefined();
    await login(identity, 'quinn password 2', 'quinn-device');
  });

  it('migrates a legacy account once, then refuses the legacy login', async () => {
    const identity = name('lee');
    const legacyPassword = 'legacy-login-half-value';
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: legacyPassword } }, 201);
    const start = opaque.client.startLogin({ password: 'lee password' });
    expect(
      await ok({
        method: 'POST',
        path: '/v1/auth/opaque/login/start',
        body: { identity, startLoginRequest: start.startLoginRequest },
      }),
    ).toEqual({ legacy: true });
    const next = opaque.client.startRegistration({ password: 'lee password' });
    const migrate = (password: string) =>
      post('migrate/start', { identity, legacyPassword: password, registrationRequest: next.registrationRequest });
    refused(await migrate('wrong-legacy-secret'), 401, 'INVALID_CREDENTIALS');
    const started = await migrate(legacyPassword);
    expect(started.status).toBe(200);
    const { ticket, registrationResponse } = started.body as { ticket: string; registrationResponse: string };
    const { registrationRecord } = opaque.client.finishRegistration({
      password: 'lee password',
      registrationResponse,
      clientRegistrationState: next.clientRegistrationState,
      keyStretching,
    });
    expect((await post('reregister', { ticket, registrationRecord })).status).toBe(204);
    const legacyLogin = { identity, password: legacyPassword, deviceId: 'lee-device-1' };
    refused(await call({ method: 'POST', path: '/v1/auth/login', body: legacyLogin }), 401, 'INVALID_CREDENTIALS');
    refused(await migrate(legacyPassword), 401, 'INVALID_CREDENTIALS');
    await login(identity, 'lee password', 'lee-device-1');
  });

  it('a locked identity cannot log in, even with the right password', async () => {
    const identity = name('max');
    await register(identity, 'max password');
    await runAccountCommand(() => serverConfig, 'lock', identity);
    const { loginId, finishLoginRequest } = await prove(identity, 'max password');
    refused(
      await post('login/finish', { loginId, finishLoginRequest, deviceId: 'max-device-1' }),
      403,
      'ACCOUNT_LOCKED',
    );
    await runAccountCommand(() => serverConfig, 'unlock', identity);
    await login(identity, 'max password', 'max-device-1');
  });

  it('reserved names need their bootstrap code, case-insensitively', async () => {
    const request = opaque.client.startRegistration({ password: 'pw pw pw pw' }).registrationRequest;
    for (const identity of ['admin', 'ADMIN', 'Support']) {
      refused(await post('register/start', { identity, registrationRequest: request }), 403, 'IDENTITY_RESERVED');
    }
    const code = await runAccountCommand(() => serverConfig, 'bootstrap', 'Security');
    refused(
      await post('register/start', {
        identity: 'security',
        registrationRequest: request,
        registrationCode: 'A'.repeat(32),
      }),
      403,
      'IDENTITY_RESERVED',
    );
    await register('security', 'security password', code);
  });

  it('counts attempts per identity, known or not, and answers 429 with Retry-After', async () => {
    for (const identity of [name('known'), name('unknown')]) {
      if (identity.startsWith('known')) await register(identity, 'known password');
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 1; i++) {
        const start = opaque.client.startLogin({ password: 'guess' });
        const res = await post('login/start', { identity, startLoginRequest: start.startLoginRequest });
        statuses.push(res.status);
        if (res.status === 429) {
          refused(res, 429, 'RATE_LIMITED');
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      // The known identity spent two attempts on registration (start and finish).
      const allowed = identity.startsWith('known') ? LIMIT - 2 : LIMIT;
      expect(statuses).toEqual([...Array<number>(allowed).fill(200), ...Array<number>(LIMIT + 1 - allowed).fill(429)]);
    }
  });
});
