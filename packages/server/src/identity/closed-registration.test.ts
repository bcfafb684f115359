import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { apiCaller, expectError } from '../testing/http.js';

// CONDUIT_REGISTRATION=code (production mode's closed sign-up): every new identity needs an
// operator's one-time code, on the OPAQUE and the legacy routes alike. Real Redis and HTTP.
const prefix = randomKeyPrefix();
const config = testConfig(prefix, { registration: 'code' });
let server: RunningServer;
const { call, ok } = apiCaller(() => server.url);
const name = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  server = await startServer(config, {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
});

afterAll(async () => {
  await server?.close();
  await deleteKeys(prefix);
});

describe('closed sign-up', () => {
  it('refuses any name without a code, saying sign-up is closed', async () => {
    const identity = name('walk-in');
    const legacy = await call({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } });
    expect(legacy.status).toBe(403);
    expect(expectError(legacy.body, 'IDENTITY_RESERVED').message).toMatch(/Sign-up is closed/);

    const { registrationRequest } = opaque.client.startRegistration({ password: PASSWORD });
    const start = await call({
      method: 'POST',
      path: '/v1/auth/opaque/register/start',
      body: { identity, registrationRequest },
    });
    expect(start.status).toBe(403);
    expectError(start.body, 'IDENTITY_RESERVED');
  });

  it("registers with the operator's code, once", async () => {
    const identity = name('invited');
    const registrationCode = await runAccountCommand(() => config, 'bootstrap', identity);
    const body = { identity, password: PASSWORD, registrationCode };
    await ok({ method: 'POST', path: '/v1/auth/register', body }, 201);

    const other = name('second');
    const reused = await call({ method: 'POST', path: '/v1/auth/register', body: { ...body, identity: other } });
    expect(reused.status).toBe(403);
    expectError(reused.body, 'IDENTITY_RESERVED');
  });
});
