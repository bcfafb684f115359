import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient, login } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { runAccountCommand } from '@conduit/server';
import { ConduitError } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// Issue 10, E: a password change, an operator's lock or a device revocation ends sessions at once,
// on every route and on the Virgil/Sync token routes; reserved names need the operator's code.
const ROUTES = ['/v1/devices', '/v1/tokens/virgil', '/v1/tokens/sync'] as const;

describe('adversary: sessions that should have ended, names that should not be taken', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };

  /** A session of `identity` on an enrolled `deviceId`, as a raw bearer token. */
  const session = async (identity: string, password: string, deviceId: string): Promise<string> => {
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    const result = await login(api, identity, password, deviceId);
    if (result.legacy) throw new Error('unexpected legacy account');
    api.setSession(result.session.token);
    await api.registerDevice(deviceId);
    return result.session.token;
  };

  /** Status and error code of each route for the token. */
  const answers = async (token: string) =>
    Promise.all(
      ROUTES.map(async (route) => {
        const res = await fetch(stack.serverUrl + route, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { error?: { code: string }; token?: string };
        return { route, status: res.status, code: body.error?.code ?? (body.token ? 'TOKEN' : 'OK') };
      }),
    );
  const expectAll = async (token: string, status: number, code: string) =>
    expect(await answers(token)).toEqual(ROUTES.map((route) => ({ route, status, code })));
  const expectServed = async (token: string) => {
    for (const a of await answers(token)) expect(a.status, a.route).toBe(200);
  };

  const admin = (command: string, identity: string) => runAccountCommand(() => stack.serverConfig, command, identity);
  const failure = async (p: Promise<unknown>): Promise<ConduitError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConduitError);
    return err as ConduitError;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adv-sessions-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), server: { adminIdentities: ['boss'] } });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a password change from device A ends the sessions of A and B everywhere, tokens included', async () => {
    const [oldPassword, newPassword] = ['alice password 1', 'alice password 2'];
    const a = await open('alice', 'alice-a');
    await a.register(oldPassword);
    const tokenA = await session('alice', oldPassword, a.deviceId);
    const tokenB = await session('alice', oldPassword, 'alice-device-b');
    await expectServed(tokenA);
    await expectServed(tokenB);

    await a.changePassword(oldPassword, newPassword);
    await expectAll(tokenA, 401, 'UNAUTHENTICATED');
    await expectAll(tokenB, 401, 'UNAUTHENTICATED');
    // The device that changed it carries on with its new session; B logs in with the new password.
    expect((await a.listDevices()).map((d) => d.deviceId).sort()).toEqual([a.deviceId, 'alice-device-b'].sort());
    await expectServed(await session('alice', newPassword, 'alice-device-b'));
  });

  it("an operator's lock refuses the identity everywhere and at login; unlocking does not revive old sessions", async () => {
    const password = 'bob password 12';
    await (await open('bob', 'bob-a')).register(password);
    const token = await session('bob', password, 'bob-device-a');
    await expectServed(token);

    await admin('lock', 'bob');
    await expectAll(token, 403, 'ACCOUNT_LOCKED');
    expect((await failure((await open('bob', 'bob-b')).login(password))).code).toBe('ACCOUNT_LOCKED');

    await admin('unlock', 'bob');
    await expectAll(token, 401, 'UNAUTHENTICATED');
    await expectServed(await session('bob', password, 'bob-device-a'));
  });

  it("a revoked device's session gets nothing, not even a Virgil or Sync token", async () => {
    const password = 'carol password';
    const main = await open('carol', 'carol-a');
    await main.register(password);
    const other = await session('carol', password, 'carol-device-b');
    await expectServed(other);
    await main.revokeDevice('carol-device-b');
    await expectAll(other, 403, 'DEVICE_REVOKED');
  });

  it('reserved names are refused without the operator code; a bootstrap code works once, for its name', async () => {
    for (const name of ['admin', 'Admin', 'root', 'boss']) {
      expect((await failure((await open(name, `${name}-squatter`)).register('squatter password'))).code).toBe(
        'IDENTITY_RESERVED',
      );
    }
    await admin('reserve', 'billing');
    expect((await failure((await open('billing', 'billing-squatter')).register('squatter password'))).code).toBe(
      'IDENTITY_RESERVED',
    );

    const code = await admin('bootstrap', 'boss');
    // The code is bound to its name.
    expect((await failure((await open('root', 'root-with-boss-code')).register('root password', code))).code).toBe(
      'IDENTITY_RESERVED',
    );
    const boss = await open('boss', 'boss-a');
    await boss.register('boss password', code);
    expect((await boss.listDevices()).map((d) => d.deviceId)).toEqual([boss.deviceId]);
    // Used up: the same code does not register the name again (checked before "taken").
    const again = await fetch(`${stack.serverUrl}/v1/auth/opaque/register/finish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'boss', registrationRecord: 'A'.repeat(256), registrationCode: code }),
    });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('IDENTITY_RESERVED');
  });
});
