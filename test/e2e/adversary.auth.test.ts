import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEThree, ConduitClient, EncryptedKeyStore, HttpClient, openEThree } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { ConduitError } from '@conduit/shared';
import { initPythiaWasm } from '@conduit/shared/virgil-wasm';
import { createKeys, hashPassword } from '@conduit/server';
import {
  dumpRedis,
  fastDerivations,
  findDerivations,
  recordingProxy,
  type RecordingProxy,
} from './support/adversary.js';
import { clientOn } from './support/stack-client.js';
import { openRedis } from './support/redis.js';

// Issue 10, D: the server (or whoever reads its traffic and its Redis) never gets the password or
// anything a dictionary attack could be run against cheaply. Real stack, unmodified SDKs.
const LIMITS = { attemptsPerIdentity: 10, attemptsPerAddress: 80, windowSeconds: 60 };

describe('adversary: a server that records everything it receives and stores', () => {
  let dir: string;
  let stack: LocalStack;
  let proxy: RecordingProxy;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string, serverUrl = proxy.url) => {
    const client = await ConduitClient.open({ ...clientOn(stack, join(dir, device), identity), serverUrl });
    clients.push(client);
    return client;
  };

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${stack.serverUrl}/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
  const loginStart = (identity: string, password = 'any password at all') => {
    const client = opaque.client.startLogin({ password });
    return {
      client,
      answer: post('/auth/opaque/login/start', { identity, startLoginRequest: client.startLoginRequest }),
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adv-auth-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), server: { authRateLimit: LIMITS } });
    proxy = await recordingProxy(stack.serverUrl);
    await opaque.ready;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await proxy?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('register, log in and change the password: no received or stored byte is the password or a fast hash of it', async () => {
    const [first, second] = ['correct horse battery 1', 'correct horse battery 2'];
    const laptop = await open('alice', 'alice-laptop');
    await laptop.register(first);
    await (await open('alice', 'alice-phone')).login(first);
    await laptop.changePassword(first, second);
    await (await open('alice', 'alice-tablet')).login(second);

    const received = proxy.received();
    const stored = await dumpRedis(stack.redisUrl, stack.serverConfig.redisKeyPrefix ?? '');
    // The recordings are real: the OPAQUE flows went through the proxy and the account is stored.
    for (const path of ['register/start', 'login/finish', 'password/start', 'reregister']) {
      expect(received.includes(Buffer.from(`POST /v1/auth/opaque/${path} `))).toBe(true);
    }
    expect(stored.includes(Buffer.from('opaque'))).toBe(true);
    // The detector finds what it looks for (so an empty result means something).
    const planted = Buffer.from(`x${fastDerivations(first)['legacy login half']!.toString('base64')}x`);
    expect(findDerivations(planted, fastDerivations(first))).toContain('legacy login half (base64)');

    for (const password of [first, second]) {
      expect(findDerivations(received, fastDerivations(password))).toEqual([]);
      expect(findDerivations(stored, fastDerivations(password))).toEqual([]);
    }
  });

  it('unknown and known identities get answers of the same shape, and fail finish with the same error', async () => {
    const bob = await open('bob', 'bob-laptop');
    await bob.register('bob password 12');
    const known = loginStart('bob');
    const unknown = loginStart(`nobody-${randomBytes(4).toString('hex')}`);
    const [k, u] = await Promise.all([known.answer, unknown.answer]);
    expect(k.status).toBe(200);
    expect(u.status).toBe(200);
    expect(Object.keys(u.body).sort()).toEqual(Object.keys(k.body).sort());
    expect(Object.keys(k.body).sort()).toEqual(['loginId', 'loginResponse']);
    expect(String(u.body.loginResponse).length).toBe(String(k.body.loginResponse).length);
    expect(String(u.body.loginId).length).toBe(String(k.body.loginId).length);

    // A well-formed proof from another login: wrong for both, refused alike.
    const other = loginStart('bob', 'bob password 12');
    const otherAnswer = await other.answer;
    const proof = opaque.client.finishLogin({
      clientLoginState: other.client.clientLoginState,
      loginResponse: String(otherAnswer.body.loginResponse),
      password: 'bob password 12',
      keyStretching: { 'argon2id-custom': { memory: 65536, iterations: 3, parallelism: 4 } },
    });
    expect(proof).toBeDefined();
    const finish = (loginId: unknown) =>
      post('/auth/opaque/login/finish', {
        loginId,
        finishLoginRequest: proof!.finishLoginRequest,
        deviceId: 'probe-device',
      });
    const [kf, uf] = await Promise.all([finish(k.body.loginId), finish(u.body.loginId)]);
    expect(kf.status).toBe(401);
    expect(uf.status).toBe(kf.status);
    expect(uf.body).toEqual(kf.body);
    expect((kf.body.error as { code: string }).code).toBe('INVALID_CREDENTIALS');

    // The genuine proof opens a session once; its login state is single use.
    const ok = await finish(otherAnswer.body.loginId);
    expect(ok.status).toBe(200);
    expect((await finish(otherAnswer.body.loginId)).status).toBe(401);

    // Through the SDK: an unknown identity and a wrong password fail the same way.
    const failures = await Promise.all([
      (await open(`nobody-${randomBytes(4).toString('hex')}`, 'ghost-device'))
        .login('some password')
        .catch((e: unknown) => e),
      (await open('bob', 'bob-wrong')).login('not bobs password').catch((e: unknown) => e),
    ]);
    for (const err of failures) {
      expect(err).toBeInstanceOf(ConduitError);
      expect((err as ConduitError).code).toBe('INVALID_CREDENTIALS');
    }
  });

  it('migrates a pre-OPAQUE account at its first login; the legacy login is refused afterwards', async () => {
    const identity = 'erin';
    const password = 'erin legacy password';
    const legacy = fastDerivations(password);
    const legacyLogin = legacy['legacy login half']!.toString('base64');
    const legacyBackup = legacy['legacy backup half']!.toString('base64');
    // A legacy account as the old server stored it: scrypt of the login half, no OPAQUE record.
    const prefix = stack.serverConfig.redisKeyPrefix ?? '';
    const redis = openRedis(stack.redisUrl);
    const keys = createKeys(prefix);
    await redis.hset(keys.account(identity), 'hash', await hashPassword(legacyLogin));
    await redis.set(keys.knownIdentity(identity), '1');

    // ...and its key, backed up under the legacy backup half, as the old client did.
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    const old = await api.login({ identity, password: legacyLogin, deviceId: 'erin-old-device' });
    api.setSession(old.token);
    await api.registerDevice('erin-old-device');
    const storageDir = join(dir, 'erin-old');
    await initPythiaWasm();
    const ethree = await openEThree({
      identity,
      storageDir,
      apiUrl: stack.virgilApiUrl,
      servicePublicKey: stack.virgilServicePublicKey,
      getToken: async () => (await api.virgilToken()).token,
      keyEntryStorage: await EncryptedKeyStore.unlock(join(storageDir, 'keys.json'), password, {
        N: 2 ** 10,
        r: 8,
        p: 1,
      }),
    });
    await ethree.register();
    await ethree.backupPrivateKey(legacyBackup);
    await closeEThree(ethree);

    expect((await loginStart(identity).answer).body).toEqual({ legacy: true });

    // A new device with the new client: logs in, migrates, and restores the key from the backup.
    const fresh = await open(identity, 'erin-new');
    await fresh.login(password);
    expect(await redis.hget(keys.account(identity), 'hash')).toBeNull();
    expect(await redis.hget(keys.account(identity), 'opaque')).not.toBeNull();
    await redis.quit();
    const again = await loginStart(identity).answer;
    expect(Object.keys(again.body).sort()).toEqual(['loginId', 'loginResponse']);
    const refused = await post('/auth/login', { identity, password: legacyLogin, deviceId: 'erin-old-device' });
    expect(refused.status).toBe(401);
    // The old device's session ended with the migration.
    const stale = await fetch(`${stack.serverUrl}/v1/tokens/virgil`, {
      headers: { authorization: `Bearer ${old.token}` },
    });
    expect(stale.status).toBe(401);
    // The backup now opens with the OPAQUE-derived secret: another device restores from it.
    await (await open(identity, 'erin-third')).login(password);
  });

  it('limits password attempts per identity, known or not, with 429 and Retry-After', async () => {
    for (const identity of ['bob', `nobody-${randomBytes(4).toString('hex')}`]) {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i <= LIMITS.attemptsPerIdentity && !limited; i++) {
        const res = await loginStart(identity).answer;
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(limited, `no 429 for ${identity}: ${statuses.join(',')}`).toBeDefined();
      expect((limited!.body.error as { code: string }).code).toBe('RATE_LIMITED');
      const retryAfter = Number(limited!.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(LIMITS.windowSeconds);
    }
    // The SDK surfaces it as a typed error.
    const err = await (
      await open('bob', 'bob-limited', stack.serverUrl)
    )
      .login('bob password 12')
      .catch((e: unknown) => e);
    expect((err as ConduitError).code).toBe('RATE_LIMITED');
  });

  it('limits password attempts per client address across identities', async () => {
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i <= LIMITS.attemptsPerAddress && !limited; i++) {
      const res = await loginStart(`spray-${i}-${randomBytes(3).toString('hex')}`).answer;
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
