import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncClient } from 'twilio-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { createKeys, processMetrics, type RedisClient, TwilioSyncAdmin } from '@conduit/server';
import { ConduitError, envelopeSha256, objectKeyOf, syncMapOf, type PointerV1 } from '@conduit/shared';
import { shutdownRawClients } from '../contract/support/sync.js';
import { clientOn } from './support/stack-client.js';
import { openRedis } from './support/redis.js';

// Issue 10, part A/B: a hostile member and a compromised server against pointer integrity and
// delivery receipts, on the real local stack with the unmodified SDKs (e3kit-node, twilio-sync,
// twilio). The "compromised server" holds what the operator's server holds: the Sync admin
// credentials and Redis. One test per attack.
describe('adversary: pointers and receipts', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let admin: TwilioSyncAdmin;
  const clients: ConduitClient[] = [];
  const rawClients: SyncClient[] = [];
  let alice: ConduitClient;
  let bob: ConduitClient;
  let mallory: ConduitClient;
  let groupId: string;
  const PW = { alice: 'alice password 1', bob: 'bob password 12', mallory: 'mallory password' };

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };

  /** The SDK's own session of a device, for direct API calls. */
  const apiAs = async (device: string, identity: string, deviceId: string) => {
    const session = JSON.parse(await readFile(join(dir, device, identity, 'session.json'), 'utf8')) as {
      token: string;
    };
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession(session.token);
    api.setDevice(deviceId);
    return api;
  };

  const send = async (from: ConduitClient, label: string): Promise<SentFile> => {
    const path = join(dir, `${label}.txt`);
    await writeFile(path, `PLAINTEXT-${label}-${randomBytes(8).toString('hex')}`);
    return from.sendFile(groupId, path);
  };

  /** Bob receives until `done` holds for what arrived (files and errors), then stops. */
  const receiveUntil = async (
    outDir: string,
    done: (seen: { files: string[]; errors: ConduitError[] }) => boolean,
    timeoutMs = 15_000,
  ) => {
    const seen = { files: [] as string[], errors: [] as ConduitError[] };
    const stop = new AbortController();
    const receiving = bob.receive(groupId, {
      outDir: join(dir, outDir),
      signal: stop.signal,
      onFile: (f) => seen.files.push(f.pointerId),
      onError: (e) => seen.errors.push(e),
    });
    const deadline = Date.now() + timeoutMs;
    while (!done(seen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await receiving;
    return seen;
  };

  const auditEntries = async (): Promise<Record<string, unknown>[]> => {
    const lines = await redis.lrange(createKeys(stack.internals.redisKeyPrefix).auditLog(), 0, -1);
    return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry);
  };
  const anomaliesInAudit = async (pointerId: string) =>
    (await auditEntries()).filter((e) => e.type === 'pointer-anomaly' && e.pointerId === pointerId);
  const anomalyMetric = async (kind: string): Promise<number> => {
    const text = await processMetrics().render();
    const line = text.split('\n').find((l) => l.startsWith(`conduit_pointer_anomalies_total{kind="${kind}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  /** Files in a receive folder written for pointers of the given label. */
  const written = async (folder: string, label: string) =>
    (await readdir(join(dir, folder)).catch(() => [])).filter((f) => f.startsWith(label));
  /** The compromised server writes a Sync item directly with its admin credentials. */
  const forge = (item: PointerV1) =>
    admin.setMapItem(syncMapOf(groupId), item.id, JSON.parse(JSON.stringify(item)) as Record<string, unknown>, 600);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adversary-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    redis = openRedis(stack.redisUrl);
    const { syncCredentials, syncRestUrl } = stack.internals;
    admin = new TwilioSyncAdmin({ ...syncCredentials, restBaseUrl: syncRestUrl });
    alice = await open('alice', 'alice-laptop');
    await alice.register(PW.alice);
    bob = await open('bob', 'bob-phone');
    await bob.register(PW.bob);
    mallory = await open('mallory', 'mallory-laptop');
    await mallory.register(PW.mallory);
    groupId = (await alice.createGroup(['bob', 'mallory'])).groupId;
  });

  afterAll(async () => {
    await shutdownRawClients(rawClients);
    for (const client of clients) await client.close();
    await redis?.quit();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a member with a real Sync token cannot overwrite, delete or forge items; bob gets the file', async () => {
    const sent = await send(alice, 'member-attack');
    const malloryApi = await apiAs('mallory-laptop', 'mallory', mallory.deviceId);
    const { token } = await malloryApi.syncToken();
    const raw = new SyncClient(token, { twilsock: { uri: stack.twilsockUri } });
    rawClients.push(raw);
    const map = await raw.map({ id: syncMapOf(groupId), mode: 'open_existing' });
    const refused = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => ({}),
        (e: unknown) => e,
      )) as { status?: number; code?: number };
      return [err.status, err.code];
    };
    const forged = { ...sent.pointer, id: randomBytes(16).toString('hex') };
    expect(await refused(map.set(sent.pointerId, { ...sent.pointer, size: 1 }))).toEqual([403, 54007]);
    expect(await refused(map.update(sent.pointerId, { size: 1 }))).toEqual([403, 54007]);
    expect(await refused(map.remove(sent.pointerId))).toEqual([403, 54007]);
    expect(await refused(map.set(forged.id, forged))).toEqual([403, 54007]);
    expect(await stack.inspect.syncItemExists(syncMapOf(groupId), forged.id)).toBe(false);

    const seen = await receiveUntil('inbox-1', (s) => s.files.includes(sent.pointerId));
    expect(seen.files).toEqual([sent.pointerId]);
    const status = await alice.status(sent.pointerId);
    expect(status.delivery).toEqual([
      { identity: 'bob', deviceId: bob.deviceId, receipt: 'verified' },
      { identity: 'mallory', deviceId: mallory.deviceId, receipt: 'pending' },
    ]);
    expect(status.anomalies).toEqual([]);
  });

  it("(a) a compromised server puts another member's genuine envelope under a pointer id: refused, reported", async () => {
    const genuine = await send(mallory, 'mallory-genuine');
    const target = await send(alice, 'alice-target');
    const before = await anomalyMetric('unverifiable');
    // Alice's registered pointer now carries mallory's (validly signed) envelope, and a new id too.
    await forge({ ...genuine.pointer, id: target.pointerId });
    const fresh = { ...genuine.pointer, id: randomBytes(16).toString('hex') };
    await forge(fresh);

    const seen = await receiveUntil('inbox-a', (s) => s.errors.length >= 2 && s.files.includes(genuine.pointerId));
    expect(seen.files).toEqual([genuine.pointerId]); // mallory's real pointer is delivered normally
    expect(seen.errors.map((e) => e.code)).toEqual(['INTEGRITY', 'INTEGRITY']);
    expect(await written('inbox-a', 'alice-target')).toEqual([]);

    const status = await alice.status(target.pointerId);
    expect(status.acknowledged).toEqual([]);
    expect(status.anomalies).toMatchObject([
      { identity: 'bob', deviceId: bob.deviceId, kind: 'unverifiable', code: 'INTEGRITY' },
    ]);
    expect(await anomaliesInAudit(target.pointerId)).toMatchObject([{ kind: 'unverifiable', code: 'INTEGRITY' }]);
    expect(await anomaliesInAudit(fresh.id)).toMatchObject([{ kind: 'unverifiable', code: 'INTEGRITY' }]);
    expect(await anomalyMetric('unverifiable')).toBe(before + 2);
  });

  it('(b) a compromised server names another sender device than the envelope: SENDER_MISMATCH, reported', async () => {
    const sent = await send(alice, 'other-device');
    await forge({ ...sent.pointer, sender: { identity: 'alice', deviceId: 'alice-forged-device' } });
    const seen = await receiveUntil('inbox-b', (s) => s.errors.length >= 1);
    expect(seen.errors.map((e) => e.code)).toEqual(['SENDER_MISMATCH']);
    expect(seen.files).not.toContain(sent.pointerId);
    expect(await written('inbox-b', 'other-device')).toEqual([]);
    const status = await alice.status(sent.pointerId);
    expect(status.delivery.find((d) => d.identity === 'bob')?.receipt).toBe('pending');
    expect(status.anomalies).toMatchObject([{ identity: 'bob', kind: 'unverifiable', code: 'SENDER_MISMATCH' }]);
    expect(await anomaliesInAudit(sent.pointerId)).toHaveLength(1);
  });

  it('(c) an item for a pointer id the ledger does not know: no file, no receipt, reported', async () => {
    const sent = await send(alice, 'unknown-to-ledger');
    // The compromised server drops the ledger entry, keeping the (genuine) item in Sync.
    const keys = createKeys(stack.internals.redisKeyPrefix);
    await redis.del(keys.pointer(groupId, sent.pointerId), keys.pointerExpected(groupId, sent.pointerId));
    await redis.del(keys.pointerGroup(sent.pointerId));
    const before = await anomalyMetric('unknown');
    const seen = await receiveUntil('inbox-c', (s) => s.errors.length >= 1);
    expect(seen.errors.map((e) => e.code)).toEqual(['POINTER_NOT_FOUND']);
    expect(await written('inbox-c', 'unknown-to-ledger')).toEqual([]);
    expect(await anomaliesInAudit(sent.pointerId)).toMatchObject([
      { kind: 'unknown', code: 'POINTER_NOT_FOUND', reportedBy: `bob:${bob.deviceId}` },
    ]);
    expect(await anomalyMetric('unknown')).toBe(before + 1);
  });

  it('a pointer removed before this endpoint could receive it is reported as vanished, never acknowledged', async () => {
    const sent = await send(alice, 'vanishing');
    // Whoever holds the bucket deletes the object: bob's download fails (transient, retried later).
    await stack.internals.deleteObject(objectKeyOf(groupId, sent.objectId));
    const before = await anomalyMetric('vanished');
    const errors: ConduitError[] = [];
    const stop = new AbortController();
    const receiving = bob.receive(groupId, {
      outDir: join(dir, 'inbox-v'),
      signal: stop.signal,
      onError: (e) => errors.push(e),
    });
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => errors.length >= 1);
    expect(errors[0]?.code).not.toBe('POINTER_NOT_FOUND');
    // Then the item goes (a compromised server, or an early purge) before bob acknowledged.
    expect(await admin.removeMapItem(syncMapOf(groupId), sent.pointerId)).toBe('removed');
    await until(() => errors.some((e) => e.code === 'POINTER_NOT_FOUND'));
    stop.abort();
    await receiving;
    expect(errors.map((e) => e.code)).toContain('POINTER_NOT_FOUND');
    const status = await alice.status(sent.pointerId);
    expect(status.acknowledged).toEqual([]);
    expect(status.anomalies).toMatchObject([{ identity: 'bob', kind: 'vanished', code: 'POINTER_NOT_FOUND' }]);
    expect(await anomaliesInAudit(sent.pointerId)).toMatchObject([{ kind: 'vanished' }]);
    expect(await anomalyMetric('vanished')).toBe(before + 1);
  });

  it('a forged feed notification from a compromised server only makes a watcher pull: nothing unverified is applied', async () => {
    const writer = await alice.records(groupId);
    const first = await writer.put('notes/adversary', { n: 1 });
    const watched = await bob.records(groupId);
    const stopWatching = await watched.watch();
    const changes: string[] = [];
    const off = watched.onChange((e) => changes.push(e.versionId));
    const map = syncMapOf(groupId);
    try {
      // A notification far past the feed, then malformed ones: the feed (every version verified)
      // stays the only source of records.
      await admin.setMapItem(map, 'feed', { v: 1, kind: 'feed', groupId, seq: 1_000_000_000 }, 600);
      await admin.setMapItem(map, 'feed', { v: 1, kind: 'feed', groupId, seq: -1, extra: true }, 600);
      await admin.setMapItem(map, 'feed', { v: 2, kind: 'feed', groupId, seq: 5 }, 600);
      await new Promise((r) => setTimeout(r, 500));
      expect(changes).toEqual([]);
      expect(watched.get('notes/adversary')?.versionId).toBe(first.versionId);
      // The watcher still follows genuine writes afterwards.
      const second = await writer.put('notes/adversary', { n: 2 });
      const deadline = Date.now() + 15_000;
      while (watched.get('notes/adversary')?.versionId !== second.versionId && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(watched.get('notes/adversary')?.value).toEqual({ n: 2 });
    } finally {
      off();
      await stopWatching();
    }
  });

  it('an ack naming another object or envelope than the binding: 409 POINTER_MISMATCH, ledger unchanged', async () => {
    const sent = await send(alice, 'ack-mismatch');
    const bobApi = await apiAs('bob-phone', 'bob', bob.deviceId);
    const before = await alice.status(sent.pointerId);
    const digest = envelopeSha256(sent.pointer.envelope);
    for (const claim of [
      { objectId: randomBytes(16).toString('hex'), envelopeSha256: digest },
      { objectId: sent.objectId, envelopeSha256: 'ee'.repeat(32) },
    ]) {
      await expect(bobApi.ack(sent.pointerId, { ...claim, signature: 'c2ln' })).rejects.toMatchObject({
        code: 'POINTER_MISMATCH',
        status: 409,
      });
    }
    const after = await alice.status(sent.pointerId);
    expect({ ...after, anomalies: [] }).toEqual({ ...before, anomalies: [] });
    expect(after.acknowledged).toEqual([]);
    expect(after.anomalies).toMatchObject([{ identity: 'bob', kind: 'changed', code: 'POINTER_MISMATCH' }]);
    expect(await anomaliesInAudit(sent.pointerId)).toHaveLength(1); // one per endpoint, not per attempt
  });

  it('a receipt forged by the server (written into Redis) is reported as not verified', async () => {
    const sent = await send(alice, 'forged-receipt');
    const keys = createKeys(stack.internals.redisKeyPrefix);
    const bobKey = `bob:${bob.deviceId}`;
    const forgedSignature = randomBytes(64).toString('base64');
    await redis.sadd(keys.pointerAcked(groupId, sent.pointerId), bobKey);
    await redis.hset(
      keys.pointerReceipts(groupId, sent.pointerId),
      bobKey,
      `${new Date().toISOString()} ${forgedSignature}`,
    );
    const status = await alice.status(sent.pointerId);
    expect(status.acknowledged).toContainEqual({ identity: 'bob', deviceId: bob.deviceId }); // the server's claim
    expect(status.delivery.find((d) => d.identity === 'bob')?.receipt).toBe('invalid-signature');

    // A receipt without any signature is no better.
    await redis.hdel(keys.pointerReceipts(groupId, sent.pointerId), bobKey);
    expect((await alice.status(sent.pointerId)).delivery.find((d) => d.identity === 'bob')?.receipt).toBe(
      'invalid-signature',
    );
  });

  it("an envelope from the sender's revoked device, published after the revocation: SENDER_DEVICE_REVOKED", async () => {
    const alicePhone = await open('alice', 'alice-phone');
    await alicePhone.login(PW.alice);
    const sent = await send(alicePhone, 'from-revoked-phone');
    await alice.revokeDevice(alicePhone.deviceId);
    await new Promise((r) => setTimeout(r, 5));
    // The compromised server (re)publishes the phone's genuine pointer as if sent now.
    await forge({ ...sent.pointer, createdAt: new Date().toISOString() });
    const seen = await receiveUntil('inbox-r', (s) => s.errors.length >= 1);
    expect(seen.errors.map((e) => e.code)).toEqual(['SENDER_DEVICE_REVOKED']);
    expect(await written('inbox-r', 'from-revoked-phone')).toEqual([]);
    const status = await alice.status(sent.pointerId);
    expect(status.acknowledged).toEqual([]);
    expect(status.anomalies).toMatchObject([{ identity: 'bob', kind: 'unverifiable', code: 'SENDER_DEVICE_REVOKED' }]);
    expect(await anomaliesInAudit(sent.pointerId)).toMatchObject([{ code: 'SENDER_DEVICE_REVOKED' }]);
  });
});
