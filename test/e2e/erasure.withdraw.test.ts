import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { AuditLog, createKeys, LegalHolds, S3ObjectStore, type RedisClient } from '@conduit/server';
import { ConduitError, objectKeyOf, syncMapOf, type PointerId } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';
import { auditEntries as auditEntriesOf, openRedis } from './support/redis.js';

// Issue 16 item 2, withdrawing a file (`conduit rm`), on the real local stack with the unmodified
// SDKs: who may withdraw, what goes (Sync item, S3 object, pending delivery), what the audit log
// says, and what a receiver sees, online or coming back after the withdrawal.
describe('erasure on request: withdrawing a file', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let store: S3ObjectStore;
  const clients: ConduitClient[] = [];
  let alice: ConduitClient; // owner
  let bob: ConduitClient; // member, sender
  let carol: ConduitClient; // member, receiver
  let dave: ConduitClient; // outsider
  let groupId: string;

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
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
  const send = async (from: ConduitClient, label: string, bytes = 2_000): Promise<SentFile> => {
    const path = join(dir, `${label}.bin`);
    await writeFile(path, Buffer.concat([Buffer.from(`PLAINTEXT-${label}`), randomBytes(bytes)]));
    return from.sendFile(groupId, path);
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
  /** What the identity's stored-bytes quota counts now. */
  const storedBytes = async (identity: string) =>
    Number((await redis.hget(createKeys(stack.internals.redisKeyPrefix).quotaUsage(identity), 'bytes')) ?? 0);
  const inDir = async (folder: string) => readdir(join(dir, folder)).catch(() => [] as string[]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-withdraw-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    redis = openRedis(stack.redisUrl);
    store = new S3ObjectStore(stack.serverConfig.s3);
    alice = await open('alice', 'alice-laptop');
    await alice.register('alice password 1');
    bob = await open('bob', 'bob-phone');
    await bob.register('bob password 123');
    carol = await open('carol', 'carol-desk');
    await carol.register('carol password 1');
    dave = await open('dave', 'dave-desk');
    await dave.register('dave password 12');
    groupId = (await alice.createGroup(['bob', 'carol'])).groupId;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    store?.close();
    await redis?.quit();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the sender withdraws: outsiders 404, other members 403 first; then item, object and delivery end', async () => {
    const bytesBefore = await storedBytes('bob');
    const sent = await send(bob, 'by-sender');
    const key = objectKeyOf(groupId, sent.pointer.objectId);
    expect(await storedBytes('bob')).toBeGreaterThan(bytesBefore);
    expect(await listed(`objects/${groupId}/`)).toContain(key);
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), sent.pointerId)).toBe(true);

    const daveApi = await apiAs('dave-desk', 'dave', dave.deviceId);
    const carolApi = await apiAs('carol-desk', 'carol', carol.deviceId);
    expect((await refusal(daveApi.withdrawPointer(sent.pointerId))).code).toBe('POINTER_NOT_FOUND');
    expect((await refusal(carolApi.withdrawPointer(sent.pointerId))).code).toBe('FORBIDDEN');
    // Refusals changed nothing.
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), sent.pointerId)).toBe(true);
    expect((await alice.status(sent.pointerId)).state).toBe('pending');

    const first = await bob.withdraw(sent.pointerId);
    expect(first).toMatchObject({ pointerId: sent.pointerId, groupId, state: 'withdrawn', withdrawnBy: 'bob' });
    expect(await bob.withdraw(sent.pointerId)).toEqual(first); // a repeat answers the same

    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), sent.pointerId)).toBe(false);
    expect(await listed(`objects/${groupId}/`)).not.toContain(key);
    // The bytes bob's quota counted for the object are his again.
    expect(await storedBytes('bob')).toBe(bytesBefore);
    const status = await bob.status(sent.pointerId);
    expect(status).toMatchObject({ state: 'withdrawn', withdrawnBy: 'bob' });
    const entries = await auditEntries();
    const withdrawn = entries.filter((e) => e.type === 'file-withdrawn' && e.pointerId === sent.pointerId);
    expect(withdrawn).toHaveLength(1);
    expect(withdrawn[0]).toMatchObject({
      groupId,
      objectId: sent.pointer.objectId,
      by: 'bob',
      receivedBy: [],
      neverReceived: [`alice:${alice.deviceId}`, `carol:${carol.deviceId}`].sort(),
    });
    const receipts = entries.filter(
      (e) => e.type === 'objects-deleted' && JSON.stringify(e.objects).includes(sent.pointer.objectId),
    );
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ cause: { kind: 'request', action: 'rm', by: 'bob' }, count: 1 });

    // A receiver's ack of it is refused, 410.
    const ack = await refusal(
      carolApi.ack(sent.pointerId, {
        objectId: sent.pointer.objectId,
        envelopeSha256: status.envelopeSha256,
        signature: 'AAAA',
      }),
    );
    expect([ack.code, ack.status]).toEqual(['FILE_WITHDRAWN', 410]);
  });

  it("a member cannot name another member's object in its own pointer (and so erase it by withdrawing)", async () => {
    // A group of its own: carol's receives in the other cases must not meet this file.
    const other = (await alice.createGroup(['bob', 'carol'])).groupId;
    const path = join(dir, 'named-by-carol.bin');
    await writeFile(path, randomBytes(2_000));
    const sent = await bob.sendFile(other, path);
    const carolApi = await apiAs('carol-desk', 'carol', carol.deviceId);
    const pointerId = randomBytes(16).toString('hex') as PointerId;
    const refused = await refusal(
      carolApi.registerPointer(other as never, {
        pointerId,
        objectId: sent.pointer.objectId,
        size: sent.pointer.size,
        envelope: randomBytes(300).toString('base64'),
      }),
    );
    expect(refused.code).toBe('FORBIDDEN');
    // Nothing registered, the object untouched and still bob's.
    expect((await refusal(carolApi.withdrawPointer(pointerId))).code).toBe('POINTER_NOT_FOUND');
    expect(await listed(`objects/${other}/`)).toContain(objectKeyOf(other, sent.pointer.objectId));
  });

  it('the group owner may withdraw any member’s file', async () => {
    const sent = await send(bob, 'by-owner');
    expect(await alice.withdraw(sent.pointerId)).toMatchObject({ state: 'withdrawn', withdrawnBy: 'alice' });
    expect(await listed(`objects/${groupId}/`)).not.toContain(objectKeyOf(groupId, sent.pointer.objectId));
  });

  it('a receiver interrupted mid-download, away during the withdrawal, settles it on return', async () => {
    const sent = await send(bob, 'offline', 20 * 1024 * 1024);
    // Carol's receive stops once the first verified bytes are on disk: a partial and its checkpoint.
    const stop = new AbortController();
    await carol.receive(groupId, {
      outDir: join(dir, 'carol-in'),
      concurrency: 1,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.phase === 'downloading' && p.bytesDone > 0) stop.abort();
      },
      onError: () => undefined,
    });
    expect((await inDir('carol-in')).length).toBeGreaterThan(0); // the private partial folder

    await bob.withdraw(sent.pointerId);

    const errors: ConduitError[] = [];
    const files: string[] = [];
    const back = new AbortController();
    const receiving = carol.receive(groupId, {
      outDir: join(dir, 'carol-in'),
      signal: back.signal,
      onFile: (f) => files.push(f.pointerId),
      onError: (e) => {
        errors.push(e);
        back.abort();
      },
    });
    await receiving;
    expect(errors.map((e) => [e.code, e.details])).toEqual([['FILE_WITHDRAWN', { pointerId: sent.pointerId }]]);
    expect(files).toEqual([]);
    expect(await inDir('carol-in')).toEqual([]); // no partial left
    const status = await bob.status(sent.pointerId);
    expect(status.state).toBe('withdrawn');
    expect(status.acknowledged).toEqual([]); // no receipt
  });

  it('an online receiver mid-download gets FILE_WITHDRAWN and keeps no partial', async () => {
    const sent = await send(bob, 'online', 20 * 1024 * 1024);
    const errors: ConduitError[] = [];
    const files: string[] = [];
    const stop = new AbortController();
    let withdrawing: Promise<unknown> | undefined;
    const receiving = carol.receive(groupId, {
      outDir: join(dir, 'carol-online'),
      concurrency: 1,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.phase === 'downloading' && p.bytesDone > 0) withdrawing ??= bob.withdraw(sent.pointerId);
      },
      onFile: (f) => files.push(f.pointerId),
      onError: (e) => {
        errors.push(e);
        if (e.code === 'FILE_WITHDRAWN') stop.abort();
      },
    });
    await receiving;
    await withdrawing;
    expect(errors.filter((e) => e.code === 'FILE_WITHDRAWN')).toHaveLength(1);
    const status = await bob.status(sent.pointerId as PointerId);
    expect(status.acknowledged).toEqual([]);
    // Either the partial was deleted, or (the download won the race) the whole verified file stays.
    const left = await inDir('carol-online');
    expect(left.filter((n) => n.startsWith('.conduit-partial'))).toEqual([]);
    expect(files).toEqual([]);
  });

  it('a legal hold on the group or the sender refuses, naming the hold, and is recorded', async () => {
    const sent = await send(bob, 'held');
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
    await holds.place('identity', 'bob', { name: 'case-7', reason: 'litigation', by: 'ops' });
    const refused = await refusal(alice.withdraw(sent.pointerId));
    expect(refused.code).toBe('LEGAL_HOLD');
    expect(refused.details).toMatchObject({ hold: { kind: 'identity', id: 'bob', name: 'case-7' } });
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), sent.pointerId)).toBe(true);
    expect(await listed(`objects/${groupId}/`)).toContain(objectKeyOf(groupId, sent.pointer.objectId));
    const refusals = (await auditEntries()).filter((e) => e.type === 'erasure-refused' && e.action === 'rm');
    expect(refusals).toHaveLength(1);
    await holds.release('identity', 'bob', 'ops', 'closed');
    await holds.place('group', groupId, { name: 'case-8', reason: 'audit', by: 'ops' });
    const byGroup = await refusal(bob.withdraw(sent.pointerId));
    expect([byGroup.code, byGroup.details]).toMatchObject(['LEGAL_HOLD', { hold: { kind: 'group', name: 'case-8' } }]);
    await holds.release('group', groupId, 'ops', 'closed');
    expect((await bob.withdraw(sent.pointerId)).state).toBe('withdrawn');
  });
});
