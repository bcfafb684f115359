import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import {
  AuditLog,
  closeRedis,
  createKeys,
  deleteIdentityCommand,
  LegalHolds,
  S3ObjectStore,
  TwilioSyncAdmin,
  VirgilDirectoryAdmin,
  VirgilTokenIssuer,
  type RedisClient,
} from '@conduit/server';
import { ConduitError, objectKeyOf, type DirectoryAdmin } from '@conduit/shared';
import { VirgilCardCrypto, VirgilCrypto } from 'virgil-crypto';
import { CardManager, ModelSigner, VirgilCardVerifier } from 'virgil-sdk';
import { clientOn } from './support/stack-client.js';
import { openRedis } from './support/redis.js';

// Deleting an identity on the real local stack (docs/lifecycle.md#deleting-an-identity): the
// user's DELETE /v1/identity through the SDK, and the operator's command, against the unmodified
// e3kit-node, the Virgil directory stand-in, the Sync emulator, s3rver and Redis.
describe('end to end: deleting an identity', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let store: S3ObjectStore;
  let tokens: VirgilTokenIssuer;
  const clients: ConduitClient[] = [];
  const PW = {
    alice: 'alice password 1',
    bob: 'bob password 123',
    carol: 'carol password 1',
    erin: 'erin password 12',
  };
  let alice: ConduitClient;
  let bob: ConduitClient;
  let carol: ConduitClient;
  let erin: ConduitClient;
  let groupId: string;
  /** Bob's file, sent before bob deleted himself (kept: sentFiles=keep). */
  let kept: { sent: SentFile; plain: Buffer };

  const open = async (identity: string, device: string, password: string) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, device), identity),
      keyPassword: async () => password,
    });
    clients.push(client);
    return client;
  };

  const send = async (client: ConduitClient, label: string) => {
    const plain = randomBytes(8_000);
    const path = join(dir, `${label}.bin`);
    await writeFile(path, plain);
    return { sent: await client.sendFile(groupId, path), plain };
  };

  /** The directory's own API, as `identity` (a token minted with the app key, as the server does). */
  const directory = async (identity: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const token = (await tokens.issue(identity)).value;
    const res = await fetch(`${stack.virgilApiUrl}${path}`, {
      method,
      headers: { authorization: `Virgil ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as unknown;
  };
  const cardsOf = async (identity: string) =>
    (await directory('alice', 'POST', '/card/v5/actions/search', { identities: [identity] })) as unknown[];
  const backupOf = async (identity: string) =>
    ((await directory(identity, 'GET', '/keyknox/v1')) as { value: string }).value;

  /** Every sealed `identity-deleted` entry naming `identity`. */
  const deletionEntries = async (identity: string) => {
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const lines = await redis.lrange(keys.auditLog(), 0, -1);
    return lines
      .map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry)
      .filter((e) => e.type === 'identity-deleted' && e.identity === identity);
  };

  const apiAs = async (device: string, identity: string, deviceId: string) => {
    const session = JSON.parse(await readFile(join(dir, device, identity, 'session.json'), 'utf8')) as {
      token: string;
    };
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession(session.token);
    api.setDevice(deviceId);
    return api;
  };

  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConduitError);
    return (err as ConduitError).code;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-iddel-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    redis = openRedis(stack.redisUrl);
    store = new S3ObjectStore(stack.serverConfig.s3);
    tokens = new VirgilTokenIssuer({ ...stack.serverConfig.virgil, ttlSeconds: 600 });
    alice = await open('alice', 'alice-laptop', PW.alice);
    await alice.register(PW.alice);
    bob = await open('bob', 'bob-phone', PW.bob);
    await bob.register(PW.bob);
    carol = await open('carol', 'carol-desk', PW.carol);
    await carol.register(PW.carol);
    erin = await open('erin', 'erin-desk', PW.erin);
    await erin.register(PW.erin);
    groupId = (await alice.createGroup(['bob', 'carol', 'erin'])).groupId;
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    store?.close();
    if (redis) await closeRedis(redis);
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a session without a fresh password proof, and an owner of groups without --with-groups', async () => {
    const leaked = await apiAs('bob-phone', 'bob', bob.deviceId);
    expect(await refusal(leaked.deleteIdentity({}))).toBe('REAUTH_REQUIRED');
    // A login id that was never handed out proves nothing either.
    const forged = { loginId: 'A'.repeat(22), finishLoginRequest: 'A'.repeat(64) };
    expect(await refusal(leaked.deleteIdentity(forged))).toBe('INVALID_CREDENTIALS');
    expect((await bob.getGroup(groupId)).members).toContain('bob');

    expect(await refusal(alice.deleteIdentity(PW.alice))).toBe('IDENTITY_OWNS_GROUPS');
    expect((await alice.getGroup(groupId)).owner).toBe('alice');
    expect(await deletionEntries('alice')).toHaveLength(0);
  });

  it('refuses a held identity with LEGAL_HOLD and changes nothing', async () => {
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
    await holds.place('identity', 'carol', { name: 'case-7', reason: 'litigation', by: 'ops' });
    expect(await refusal(carol.deleteIdentity(PW.carol))).toBe('LEGAL_HOLD');
    expect((await alice.getGroup(groupId)).members).toContain('carol');
    expect(await cardsOf('carol')).not.toHaveLength(0);
    expect(await backupOf('carol')).not.toBe('');
    await holds.release('identity', 'carol', 'ops', 'settled');
  });

  it('a user deletes themself: login, devices, card, backup and memberships are gone; kept files stay stored', async () => {
    const { sent, plain } = await send(bob, 'from-bob');
    expect((await carol.readRange(sent.pointer, 0, 100)).equals(plain.subarray(0, 100))).toBe(true);
    const bobApi = await apiAs('bob-phone', 'bob', bob.deviceId);
    expect(await cardsOf('bob')).not.toHaveLength(0);
    expect(await backupOf('bob')).not.toBe('');

    const report = await bob.deleteIdentity(PW.bob);
    expect(report).toMatchObject({ identity: 'bob', deleted: true, devices: 1, groupsLeft: 1, sentFiles: 'keep' });
    expect(report.cardsRevoked).toBeGreaterThan(0);

    expect(await cardsOf('bob')).toHaveLength(0);
    expect(await backupOf('bob')).toBe('');
    expect((await alice.getGroup(groupId)).members).not.toContain('bob');
    expect(await refusal(bobApi.listDevices())).toMatch(/^(DEVICE_REVOKED|UNAUTHENTICATED)$/);
    const again = await open('bob', 'bob-phone-2', PW.bob);
    expect(await refusal(again.login(PW.bob))).toMatch(/^(INVALID_CREDENTIALS|IDENTITY_RESERVED)$/);

    // sentFiles=keep: the object and its pointer stay, and carol still opens and verifies it: the
    // directory has no card of bob any more, so the SDK takes bob's retired card (kept by the
    // server before the revoke, countersigned by the directory, equal to carol's pin).
    expect(await store.head(objectKeyOf(groupId, sent.objectId))).not.toBeNull();
    expect((await carol.readRange(sent.pointer, 0, plain.length)).equals(plain)).toBe(true);
    kept = { sent, plain };
    const entries = await deletionEntries('bob');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ by: 'self', sentFiles: 'keep', groupsLeft: 1, devices: 1 });
  });

  it('a retired card the server forged, one with another key than pinned, or a file sent after the revocation: refused', async () => {
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const key = keys.retiredCards('bob');
    const original = await redis.hgetall(key);
    const [cardId, stored] = Object.entries(original)[0]!;
    const entry = JSON.parse(stored) as { rawCard: { content_snapshot: string }; revokedAt: string };
    const read = () => carol.readRange(kept.sent.pointer, 0, kept.plain.length);
    const serve = async (rawCard: unknown, revokedAt = entry.revokedAt) => {
      await redis.del(key);
      const id = createHash('sha512')
        .update(Buffer.from((rawCard as { content_snapshot: string }).content_snapshot, 'base64'))
        .digest()
        .subarray(0, 32)
        .toString('hex');
      await redis.hset(key, id, JSON.stringify({ rawCard, revokedAt }));
    };
    const crypto = new VirgilCrypto();
    const cardCrypto = new VirgilCardCrypto(crypto);
    const manager = new CardManager({
      cardCrypto,
      cardVerifier: new VirgilCardVerifier(cardCrypto),
      retryOnUnauthorized: false,
    });
    const otherKey = crypto.generateKeys();
    const selfSigned = manager.generateRawCard({ ...otherKey, identity: 'bob' });
    try {
      // Any authenticated caller may read the cards; an identity with none answers IDENTITY_NOT_FOUND.
      const carolApi = await apiAs('carol-desk', 'carol', carol.deviceId);
      expect((await carolApi.retiredCards('bob')).cards).toHaveLength(1);
      expect(await refusal(carolApi.retiredCards('alice'))).toBe('IDENTITY_NOT_FOUND');

      // The server's own "countersignature" (any key but the directory's) does not make a card.
      new ModelSigner(cardCrypto).sign({
        model: selfSigned,
        signer: 'virgil',
        signerPrivateKey: crypto.generateKeys().privateKey,
      });
      await serve(selfSigned.toJson());
      expect(await refusal(read())).toBe('INTEGRITY');

      // A genuine directory card of bob, but with another key than carol pinned.
      const published = await directory(
        'bob',
        'POST',
        '/card/v5',
        manager.generateRawCard({ ...otherKey, identity: 'bob' }).toJson(),
      );
      const publishedId = createHash('sha512')
        .update(Buffer.from((published as { content_snapshot: string }).content_snapshot, 'base64'))
        .digest()
        .subarray(0, 32)
        .toString('hex');
      const revoked = await fetch(`${stack.virgilApiUrl}/card/v5/actions/revoke/${publishedId}`, {
        method: 'POST',
        headers: { authorization: `Virgil ${(await tokens.issue('bob')).value}` },
      });
      expect(revoked.ok).toBe(true);
      expect(await cardsOf('bob')).toHaveLength(0);
      await serve(published);
      expect(await refusal(read())).toBe('IDENTITY_CHANGED');

      // Bob's real card, but revoked (the server says) before the file was registered.
      const sentAt = Date.parse(kept.sent.pointer.createdAt);
      await serve(entry.rawCard, new Date(sentAt - 1_000).toISOString());
      expect(await refusal(read())).toBe('SENDER_DEVICE_REVOKED');
    } finally {
      await redis.del(key);
      await redis.hset(key, cardId, stored);
    }
    expect((await read()).equals(kept.plain)).toBe(true);
  });

  it('the operator deletes with a reason; a run that failed mid-way is finished by the next, with one entry', async () => {
    const files: { sent: SentFile }[] = [await send(erin, 'from-erin-1'), await send(erin, 'from-erin-2')];
    const config = { ...stack.serverConfig, retention: { sentFiles: 'delete' as const } };
    const real = new VirgilDirectoryAdmin(tokens, stack.virgilApiUrl);
    let failures = 1;
    const flaky: DirectoryAdmin = {
      async eraseIdentity(identity, retire) {
        if (failures-- > 0) throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'directory down (test)');
        return real.eraseIdentity(identity, retire);
      },
    };
    const adapters = {
      objectStore: store,
      syncAdmin: new TwilioSyncAdmin({ ...stack.internals.syncCredentials, restBaseUrl: stack.internals.syncRestUrl }),
      virgilTokens: tokens,
      directoryAdmin: flaky,
    };
    const options = { reason: 'GDPR art. 17 request #42', by: 'ops-jane', withGroups: false };
    expect(await refusal(deleteIdentityCommand(config, redis, 'erin', options, adapters))).toBe(
      'DEPENDENCY_UNAVAILABLE',
    );
    // Interrupted after the memberships and objects: erin is out of the group, no entry yet.
    expect((await alice.getGroup(groupId)).members).not.toContain('erin');
    expect(await deletionEntries('erin')).toHaveLength(0);

    const summary = await deleteIdentityCommand(config, redis, 'erin', options, adapters);
    expect(summary).toContain('erin deleted:');
    for (const f of files) expect(await store.head(objectKeyOf(groupId, f.sent.objectId))).toBeNull();
    expect(await cardsOf('erin')).toHaveLength(0);
    expect(await backupOf('erin')).toBe('');
    const entries = await deletionEntries('erin');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      by: 'ops-jane',
      reason: 'GDPR art. 17 request #42',
      sentFiles: 'delete',
      objectsDeleted: 2,
      groupsLeft: 1,
    });

    // A third run finds the deletion done: nothing more, no second entry.
    expect(await deleteIdentityCommand(config, redis, 'erin', options, adapters)).toContain('was deleted already');
    expect(await deletionEntries('erin')).toHaveLength(1);
  });
});
