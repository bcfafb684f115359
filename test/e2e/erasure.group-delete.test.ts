import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEThree, ConduitClient, EncryptedKeyStore, HttpClient, openEThree } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { AuditLog, createKeys, LegalHolds, S3ObjectStore, type RedisClient } from '@conduit/server';
import { ConduitError, syncMapOf, type GroupId } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';
import { auditEntries as auditEntriesOf, openRedis, scanKeys } from './support/redis.js';

// Issue 16 item 2, deleting a group (`conduit group delete`), on the real local stack with the
// unmodified SDKs: who may, what a legal hold does, and what is left afterwards in S3, Sync,
// Redis and the key directory, for the owner and for a member who held the group key.
describe('erasure on request: deleting a group', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let store: S3ObjectStore;
  const clients: ConduitClient[] = [];
  let alice: ConduitClient; // owner
  let bob: ConduitClient; // member
  let dave: ConduitClient; // outsider
  const PW = { alice: 'alice password 1', bob: 'bob password 123', dave: 'dave password 12' };

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };
  /** The API as one device, with its stored session. */
  const apiOf = async (client: ConduitClient, device: string) => {
    const session = JSON.parse(await readFile(join(dir, device, client.identity, 'session.json'), 'utf8')) as {
      token: string;
    };
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession(session.token);
    api.setDevice(client.deviceId);
    return api;
  };
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConduitError);
    return err as ConduitError;
  };
  const auditEntries = () => auditEntriesOf(redis, stack.internals.redisKeyPrefix);
  const listed = async (prefix: string): Promise<string[]> => {
    const found: string[] = [];
    for await (const page of store.listObjects(prefix)) found.push(...page.map((o) => o.key));
    return found;
  };
  const deletedEntries = async (groupId: string) =>
    (await auditEntries()).filter((e) => e.type === 'group-deleted' && e.groupId === groupId);
  /** Waits (bounded) for the worker to finish the deletion: its one audit entry. */
  const finished = async (groupId: string) => {
    const deadline = Date.now() + 30_000;
    while ((await deletedEntries(groupId)).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    return deletedEntries(groupId);
  };
  const sendFile = async (groupId: string, label: string) => {
    const path = join(dir, `${label}.bin`);
    await writeFile(path, Buffer.concat([Buffer.from(`PLAINTEXT-${label}`), randomBytes(3_000)]));
    return alice.sendFile(groupId, path);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-group-delete-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    redis = openRedis(stack.redisUrl);
    store = new S3ObjectStore(stack.serverConfig.s3);
    alice = await open('alice', 'alice-laptop');
    await alice.register(PW.alice);
    bob = await open('bob', 'bob-phone');
    await bob.register(PW.bob);
    dave = await open('dave', 'dave-desk');
    await dave.register(PW.dave);
  });

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    store?.close();
    await redis?.quit();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('members get 403, outsiders 404, a held group LEGAL_HOLD naming the hold; nothing changes', async () => {
    const { groupId } = await alice.createGroup(['bob']);
    const bobApi = await apiOf(bob, 'bob-phone');
    const daveApi = await apiOf(dave, 'dave-desk');
    expect((await refusal(bobApi.deleteGroup(groupId as GroupId))).code).toBe('FORBIDDEN');
    expect((await refusal(daveApi.deleteGroup(groupId as GroupId))).code).toBe('GROUP_NOT_FOUND');

    const keys = createKeys(stack.internals.redisKeyPrefix);
    const holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
    await holds.place('group', groupId, { name: 'case-9', reason: 'litigation', by: 'ops' });
    const held = await refusal(alice.deleteGroup(groupId));
    expect(held.code).toBe('LEGAL_HOLD');
    expect(held.details).toMatchObject({ hold: { kind: 'group', id: groupId, name: 'case-9' } });
    expect((await alice.getGroup(groupId)).groupId).toBe(groupId); // still there, key too
    const refusals = (await auditEntries()).filter((e) => e.type === 'erasure-refused' && e.action === 'group-delete');
    expect(refusals).toHaveLength(1);
    await holds.release('group', groupId, 'ops', 'closed');
  });

  it('the owner deletes: S3, Sync, Redis and the directory keep nothing; a member who held the key loses it', async () => {
    const { groupId } = await alice.createGroup(['bob']);
    const gid = groupId as GroupId;
    const storedBytes = async () =>
      Number((await redis.hget(createKeys(stack.internals.redisKeyPrefix).quotaUsage('alice'), 'bytes')) ?? 0);
    const bytesBefore = await storedBytes();
    const received = await sendFile(groupId, 'received');
    const file = await bob.receiveNext(groupId, { outDir: join(dir, 'bob-in'), timeoutMs: 20_000 });
    expect(file.pointerId).toBe(received.pointerId);
    const pending = await sendFile(groupId, 'pending'); // never received
    const bytesOfFiles = (await storedBytes()) - bytesBefore;
    await (await alice.records(groupId)).put('settings', { theme: 'dark' });
    const bytesOfRecord = (await storedBytes()) - bytesBefore - bytesOfFiles;
    expect(bytesOfFiles).toBeGreaterThan(6_000);
    const bobApi = await apiOf(bob, 'bob-phone');
    const presigned = await bobApi.createDownload(gid, received.pointer.objectId);
    expect(await listed(`objects/${groupId}/`)).toHaveLength(2);

    expect(await alice.deleteGroup(groupId)).toEqual({ groupId, state: 'deleting' });
    // Tombstoned at once: 404 for everyone, and the id cannot be created again.
    expect((await refusal(alice.getGroup(groupId))).code).toBe('GROUP_NOT_FOUND');
    expect((await refusal(bobApi.getGroup(gid))).code).toBe('GROUP_NOT_FOUND');
    const aliceApi = await apiOf(alice, 'alice-laptop');
    expect((await refusal(aliceApi.createGroup({ groupId: gid, members: [] }))).code).toBe('GROUP_EXISTS');

    const entries = await finished(groupId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      by: 'alice',
      members: ['alice', 'bob'],
      objects: 2,
      records: 1,
      outcome: { s3: 'deleted', redis: 'deleted', sync: 'removed' },
    });
    const receipts = (await auditEntries()).filter((e) => e.type === 'objects-deleted' && e.groupId === groupId);
    expect(receipts.map((r) => r.cause)).toEqual([{ kind: 'request', action: 'group-delete', by: 'alice' }]);
    // What the files and the record counted against alice's quota is hers again.
    expect(bytesOfRecord).toBeGreaterThan(0);
    expect(await storedBytes()).toBe(bytesBefore);

    // S3: nothing under the group's prefixes; the URL bob held fails.
    expect(await listed(`objects/${groupId}/`)).toEqual([]);
    expect(await listed(`feed/${groupId}/`)).toEqual([]);
    expect((await fetch(presigned.url)).status).toBe(404);
    // Sync: the map is gone.
    expect((await stack.inspect.syncGet(`Maps/${syncMapOf(gid)}`)).status).toBe(404);
    // Redis: only the tombstone names the group; the pointers' ledger entries are gone.
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const left = await scanKeys(redis, [`*${groupId}*`]);
    expect(left).toEqual([keys.group(groupId)]);
    expect(Object.keys(await redis.hgetall(keys.group(groupId))).sort()).toEqual(['deletedAt', 'state']);
    for (const p of [received.pointerId, pending.pointerId]) {
      // One key per call: the two live in different slots of a cluster.
      expect(await redis.exists(keys.pointer(groupId, p))).toBe(0);
      expect(await redis.exists(keys.pointerGroup(p))).toBe(0);
    }
    expect(await redis.sismember(keys.identityGroups('bob'), groupId)).toBe(0);

    // Bob, on contact, drops his cached key; nobody can load it from the directory any more.
    expect((await refusal(bob.getGroup(groupId))).code).toBe('GROUP_NOT_FOUND');
    await bob.close();
    const token = async () => (await bobApi.virgilToken()).token;
    const ethree = await openEThree({
      identity: 'bob',
      storageDir: join(dir, 'bob-phone', 'bob', 'e3kit'),
      apiUrl: stack.virgilApiUrl,
      servicePublicKey: stack.virgilServicePublicKey,
      getToken: token,
      keyEntryStorage: await EncryptedKeyStore.unlock(join(dir, 'bob-phone', 'bob', 'e3kit', 'keystore.json'), PW.bob),
    });
    try {
      expect(await ethree.getGroup(groupId)).toBeNull(); // the local copy was dropped
      const aliceCard = await ethree.findUsers('alice');
      await expect(ethree.loadGroup(groupId, aliceCard)).rejects.toThrow(); // no ticket in Keyknox
    } finally {
      await closeEThree(ethree);
    }
  });
});
