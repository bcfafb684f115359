import { randomBytes } from 'node:crypto';
import { MAX_SEALED_NAME_CHARS } from '@conduit/shared';
import type { DeviceList, GroupList, GroupView } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, expectError, type Call } from '../testing/http.js';
import { createKeys, SHARDS } from '../adapters/redis/keys.js';

// PUT /v1/groups/:groupId/name and PUT /v1/devices/:deviceId/name: real Redis and HTTP, fake ports.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const PASSWORD = 'correct horse battery';
let server: RunningServer;
let redis: Redis;
const { call, ok, enroll } = apiCaller(() => server.url);
const tokens = { alice: '', bob: '', carol: '' };
const sealed = (label: string) => Buffer.from(`sealed ${label} ${randomBytes(8).toString('hex')}`).toString('base64');
let groupId: string;

const groupNameCall = (token: string, sealedName: unknown, gid = groupId): Call => ({
  method: 'PUT',
  path: `/v1/groups/${gid}/name`,
  token,
  body: { sealedName },
});
const putGroupName = (token: string, sealedName: unknown, gid = groupId) => call(groupNameCall(token, sealedName, gid));

/** The audit log's raw lines, sealed and pending. */
async function auditLines(): Promise<string[]> {
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  const pending = await Promise.all(SHARDS.map((shard) => redis.lrange(keys.auditPending(shard), 0, -1)));
  return [...lines, ...pending.flat()];
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  server = await startServer(testConfig(prefix), {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
  for (const identity of Object.keys(tokens) as (keyof typeof tokens)[]) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
    tokens[identity] = await enroll(identity, PASSWORD, `${identity}-device-1`);
  }
  groupId = randomBytes(16).toString('hex');
  await ok({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: ['bob'] } }, 201);
});

afterAll(async () => {
  await server?.close();
  await redis?.quit();
  await deleteKeys(prefix);
});

describe('PUT /v1/groups/:groupId/name', () => {
  it('the owner sets it; members read the latest sealed name in the group view and list; audited', async () => {
    expect((await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.bob })).sealedName).toBeUndefined();
    const first = sealed('first');
    const second = sealed('second');
    await ok(groupNameCall(tokens.alice, first), 204);
    await ok(groupNameCall(tokens.alice, second), 204);
    expect((await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.bob })).sealedName).toBe(second);
    const list = await ok<GroupList>({ path: '/v1/groups', token: tokens.bob });
    expect(list.groups.find((g) => g.groupId === groupId)?.sealedName).toBe(second);
    const renames = (await auditLines()).filter((l) => l.includes('"group-renamed"'));
    expect(renames.length).toBeGreaterThanOrEqual(1);
    for (const line of renames) expect(line).not.toContain(second);
  });

  it('refuses members with 403, outsiders exactly like an unknown group, and changes nothing', async () => {
    const before = await redis.hget(keys.group(groupId), 'sealedName');
    const member = await putGroupName(tokens.bob, sealed('by bob'));
    expect(member.status).toBe(403);
    expectError(member.body, 'FORBIDDEN');
    const outsider = await putGroupName(tokens.carol, sealed('by carol'));
    const unknown = await putGroupName(tokens.carol, sealed('by carol'), randomBytes(16).toString('hex'));
    expect(outsider.status).toBe(404);
    expect(outsider.body).toEqual(unknown.body);
    expectError(outsider.body, 'GROUP_NOT_FOUND');
    expect(await redis.hget(keys.group(groupId), 'sealedName')).toBe(before);
  });

  it('validates the sealed name: base64, bounded, nothing else in the body', async () => {
    for (const body of ['not base64!', 'A'.repeat(MAX_SEALED_NAME_CHARS + 4), 42, '']) {
      const res = await putGroupName(tokens.alice, body);
      expect(res.status).toBe(400);
      expectError(res.body, 'VALIDATION_FAILED');
    }
    const extra = await call({
      method: 'PUT',
      path: `/v1/groups/${groupId}/name`,
      token: tokens.alice,
      body: { sealedName: sealed('x'), name: 'plaintext' },
    });
    expect(extra.status).toBe(400);
  });
});

describe('PUT /v1/devices/:deviceId/name', () => {
  it("names one of the caller's devices, listed with it; another identity's device is not found", async () => {
    const name = sealed('laptop');
    await ok(
      { method: 'PUT', path: '/v1/devices/bob-device-1/name', token: tokens.bob, body: { sealedName: name } },
      204,
    );
    const list = await ok<DeviceList>({ path: '/v1/devices', token: tokens.bob });
    expect(list.devices).toEqual([expect.objectContaining({ deviceId: 'bob-device-1', sealedName: name })]);

    const other = await call({
      method: 'PUT',
      path: '/v1/devices/alice-device-1/name',
      token: tokens.bob,
      body: { sealedName: sealed('stolen') },
    });
    expect(other.status).toBe(404);
    expectError(other.body, 'DEVICE_NOT_FOUND');
    const alices = await ok<DeviceList>({ path: '/v1/devices', token: tokens.alice });
    expect(alices.devices[0]?.sealedName).toBeUndefined();
  });

  it('drops the name of a revoked device and refuses to name it again', async () => {
    const second = await enroll('bob', PASSWORD, 'bob-device-2');
    const nameIt = (token: string): Call => ({
      method: 'PUT',
      path: '/v1/devices/bob-device-2/name',
      token,
      body: { sealedName: sealed('phone') },
    });
    await ok(nameIt(second), 204);
    expect(await redis.hget(keys.deviceNames('bob'), 'bob-device-2')).toBeTruthy();
    await ok({ method: 'DELETE', path: '/v1/devices/bob-device-2', token: tokens.bob }, 204);
    expect(await redis.hget(keys.deviceNames('bob'), 'bob-device-2')).toBeNull();
    const again = await call(nameIt(tokens.bob));
    expect(again.status).toBe(404);
    expectError(again.body, 'DEVICE_NOT_FOUND');
  });
});
