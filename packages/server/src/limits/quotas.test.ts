import { randomBytes } from 'node:crypto';
import { objectKeyOf, syncMapOf } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
import { QuotaStore } from '../adapters/redis/quotas.js';
import { runAccountCommand } from '../ops/account-commands.js';
import { startServer, type RunningServer } from '../server.js';
import { ENVELOPE, pointerBody, receiptFor } from '../testing/app-fixture.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError, type Call, type Reply } from '../testing/http.js';

/*
 * Per-identity quotas on two API servers sharing one Redis: each refusal is the typed error with
 * nothing written (no URL, upload, pointer, group or version), and parallel requests never pass a
 * limit. Each test uses its own identity, so their quotas do not mix.
 */

const QUOTAS = { storedBytes: 1000, pendingPointers: 2, ownedGroups: 2 };
const PASSWORD = 'correct horse battery';
const hex = () => randomBytes(16).toString('hex');

/** The fake store with multipart uploads that only count their calls (S3 is not the point here). */
class CountingStore extends FakeObjectStore {
  multipartCreates = 0;
  override async createMultipartUpload(): Promise<{ storeUploadId: string }> {
    this.multipartCreates++;
    return { storeUploadId: hex() };
  }
  override async abortMultipartUpload(): Promise<'aborted'> {
    return 'aborted';
  }
}

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const objectStore = new CountingStore();
const syncAdmin = new FakeSyncAdmin();
const deps = { objectStore, syncAdmin, virgilTokens: new FakeTokenIssuer('v'), syncTokens: new FakeTokenIssuer('s') };
const config = testConfig(prefix, { quotas: QUOTAS });
const servers: RunningServer[] = [];
let redis: Redis;
let quotaStore: QuotaStore;
const api = apiCaller(() => servers[0]!.url);
const onServer = (n: number, c: Call): Promise<Reply> => api.call(c, servers[n % 2]!.url);

interface Session {
  identity: string;
  device: string;
  token: string;
}

/** Registers and enrolls `identity` with one device. */
async function session(identity: string): Promise<Session> {
  await api.registerAll([identity], PASSWORD);
  const device = `${identity}-device-1`;
  return { identity, device, token: await api.enroll(identity, PASSWORD, device) };
}

/** A group owned by `owner`, shared with `members`. */
async function group(owner: Session, members: Session[] = []): Promise<string> {
  const groupId = hex();
  const body = { groupId, members: members.map((m) => m.identity) };
  await api.ok({ method: 'POST', path: '/v1/groups', token: owner.token, body }, 201);
  return groupId;
}

function expectQuota(res: Reply, quota: string, limit: number, used: number, requested: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(expectError(res.body, 'QUOTA_EXCEEDED').details).toEqual({ quota, limit, used, requested });
}

let bob: Session;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  quotaStore = new QuotaStore(redis, keys);
  servers.push(await startServer(config, deps), await startServer(config, deps));
  bob = await session('bob');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await redis.quit();
  await deleteKeys(prefix);
});

describe('per-identity quotas', () => {
  it('stored bytes: presigned PUTs, multipart uploads and record envelopes; refused before anything is presigned or written', async () => {
    const alice = await session('alice');
    const groupId = await group(alice);
    const presign = (size: number): Call => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/objects`,
      token: alice.token,
      body: { size },
    });
    expect((await api.call(presign(600))).status).toBe(201);
    const presigned = objectStore.presigned.length;
    expectQuota(await api.call(presign(500)), 'storedBytes', 1000, 600, 500);
    expect(objectStore.presigned).toHaveLength(presigned);

    const multipart = (size: number): Call => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/uploads`,
      token: alice.token,
      device: alice.device,
      body: { size },
    });
    expectQuota(await api.call(multipart(401)), 'storedBytes', 1000, 600, 401);
    expect(objectStore.multipartCreates).toBe(0);
    expect(await redis.keys(`${prefix}upl:*`)).toEqual([]);

    // An open upload holds its size; aborting it gives the bytes back.
    const upload = await api.ok<{ uploadId: string }>(multipart(400), 201);
    expect((await quotaStore.usage('alice')).bytes).toBe(1000);
    const path = `/v1/groups/${groupId}/uploads/${upload.uploadId}`;
    expect((await api.call({ method: 'DELETE', path, token: alice.token, device: alice.device })).status).toBe(204);
    expect((await quotaStore.usage('alice')).bytes).toBe(600);

    // A record version's envelope is kept for good, so it counts too.
    const recordId = hex();
    const envelope = Buffer.alloc(450, 1).toString('base64'); // 600 characters
    const version = (env: string): Call => ({
      method: 'POST',
      path: `/v1/groups/${groupId}/records/${recordId}/versions`,
      token: alice.token,
      device: alice.device,
      body: {
        versionId: hex(),
        parentVersionId: null,
        pointerId: hex(),
        objectId: null,
        deleted: false,
        envelope: env,
      },
    });
    expectQuota(await api.call(version(envelope)), 'storedBytes', 1000, 600, envelope.length);
    const head = await api.call({ path: `/v1/groups/${groupId}/records/${recordId}`, token: alice.token });
    expect(head.status).toBe(404);
    expect((await api.call(version(ENVELOPE))).status).toBe(201);
    expect((await quotaStore.usage('alice')).bytes).toBe(600 + ENVELOPE.length);
  });

  it('pending pointers: refused before the ledger or Sync sees the pointer; a delivered pointer stops counting', async () => {
    const carol = await session('carol');
    const groupId = await group(carol, [bob]);
    const send = (pointerId: string) => {
      const objectId = hex();
      objectStore.put(objectKeyOf(groupId, objectId), 10);
      const body = pointerBody(pointerId, objectId);
      return {
        objectId,
        call: { method: 'POST', path: `/v1/groups/${groupId}/pointers`, token: carol.token, body } as Call,
      };
    };
    const first = send(hex());
    expect((await api.call(first.call)).status).toBe(201);
    expect((await api.call(send(hex()).call)).status).toBe(201);

    const third = hex();
    const refused = send(third);
    expectQuota(await api.call(refused.call), 'pendingPointers', 2, 2, 1);
    expect(await redis.exists(keys.pointerGroup(third))).toBe(0);
    expect([...syncAdmin.items.keys()].some((k) => k.endsWith(`/${third}`))).toBe(false);
    // A retry of a registered pointer holds its claim already: not refused.
    expect((await api.call(first.call)).status).toBe(200);

    // bob acknowledges the first pointer: it leaves 'pending', and the refused send now passes.
    const pointerId = (first.call.body as { pointerId: string }).pointerId;
    await api.ok({
      method: 'POST',
      path: `/v1/pointers/${pointerId}/ack`,
      token: bob.token,
      body: receiptFor(first.objectId),
    });
    expect((await api.call(refused.call)).status).toBe(201);
    expect((await quotaStore.usage('carol')).pointers).toBe(2);
  });

  it('owned groups: refused before the group or its Sync map exists', async () => {
    const dave = await session('dave');
    await group(dave);
    await group(dave);
    const groupId = hex();
    const res = await api.call({
      method: 'POST',
      path: '/v1/groups',
      token: dave.token,
      body: { groupId, members: [] },
    });
    expectQuota(res, 'ownedGroups', 2, 2, 1);
    expect(await redis.exists(keys.group(groupId), keys.groupMembers(groupId))).toBe(0);
    expect(syncAdmin.maps.has(syncMapOf(groupId))).toBe(false);
  });

  it('drops claims past their lifetime at the next claim, so stale ones do not pile up below the limit', async () => {
    expect(await quotaStore.claim('pointers', 'frank', 'old', 10, new Date(1_000))).toEqual({
      ok: true,
      fresh: true,
      used: 1,
    });
    expect(await quotaStore.claim('pointers', 'frank', 'old', 10, new Date(2_000))).toMatchObject({ fresh: false });
    expect(await quotaStore.claim('pointers', 'frank', 'new', 10, new Date(9_000), 5_000)).toEqual({
      ok: true,
      fresh: true,
      used: 1,
    });
    expect((await quotaStore.oldest('pointers', 'frank', 0, 10)).map((c) => c.member)).toEqual(['new']);
  });

  it('parallel requests over two servers never pass a limit', async () => {
    const erin = await session('erin');
    const groupId = await group(erin, [bob]);
    const presigns = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        onServer(i, { method: 'POST', path: `/v1/groups/${groupId}/objects`, token: erin.token, body: { size: 100 } }),
      ),
    );
    expect(presigns.filter((r) => r.status === 201)).toHaveLength(10);
    expect(presigns.filter((r) => r.status === 403)).toHaveLength(20);

    const sends = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const objectId = hex();
        objectStore.put(objectKeyOf(groupId, objectId), 10);
        const body = pointerBody(hex(), objectId);
        return onServer(i, { method: 'POST', path: `/v1/groups/${groupId}/pointers`, token: erin.token, body });
      }),
    );
    expect(sends.filter((r) => r.status === 201)).toHaveLength(QUOTAS.pendingPointers);

    // erin owns one group already: one more fits.
    const creates = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        onServer(i, { method: 'POST', path: '/v1/groups', token: erin.token, body: { groupId: hex(), members: [] } }),
      ),
    );
    expect(creates.filter((r) => r.status === 201)).toHaveLength(QUOTAS.ownedGroups - 1);
    expect(await quotaStore.usage('erin')).toEqual({ bytes: 1000, pointers: 2, groups: 2 });
    // What the operator sees.
    const report = await runAccountCommand(() => config, 'quota', 'erin');
    expect(report).toMatch(/storedBytes +1000 of 1000\n/);
    expect(report).toMatch(/pendingPointers +2 of 2 /);
    expect(report).toMatch(/ownedGroups +2 of 2$/);
  });
});
