import { randomBytes } from 'node:crypto';
import { MAX_GROUP_MEMBERS, objectKeyOf, syncMapOf } from '@conduit/shared';
import type { DeviceList, GroupList, GroupView, PointerRegistration } from '@conduit/shared';
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
import { apiCaller, expectError, itRefusesAll, type RefusalCase } from '../testing/http.js';
import { createKeys } from '../adapters/redis/keys.js';

// Group listing, adding members and device listing: real Redis and HTTP, fake S3/Sync/token ports.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const hex = () => randomBytes(16).toString('hex');
const PASSWORD = 'correct horse battery';
const objectStore = new FakeObjectStore();
const syncAdmin = new FakeSyncAdmin();
let server: RunningServer;
const { call, ok, enroll } = apiCaller(() => server.url);
let redis: Redis;

const users = { alice: 'alice', bob: 'bob', carol: 'carol', erin: 'erin' };
const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  carol1: 'carol-device-1',
  carol2: 'carol-device-2',
  erin1: 'erin-device-01',
};
/** Each identity's session on its first device (alice1, bob1, carol1, erin1). */
const tokens: Record<keyof typeof users, string> = { alice: '', bob: '', carol: '', erin: '' };

async function createGroup(owner: keyof typeof users, members: string[]): Promise<string> {
  const groupId = hex();
  await ok({ method: 'POST', path: '/v1/groups', token: tokens[owner], body: { groupId, members } }, 201);
  return groupId;
}

const addMembers = (groupId: string, members: unknown, token = tokens.alice) =>
  call({ method: 'POST', path: `/v1/groups/${groupId}/members`, token, body: { members } });

/** Identities known to the server without the cost of dev-account password hashing. */
async function knownIdentities(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `member-${i}-${hex().slice(0, 6)}`);
  await Promise.all(ids.map((id) => redis.set(keys.knownIdentity(id), '1')));
  return ids;
}

/** Audit entries of one type, from the sealed chain. */
async function auditEntries(type: string): Promise<Record<string, unknown>[]> {
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry).filter((e) => e.type === type);
}

async function registerFilePointer(groupId: string): Promise<PointerRegistration> {
  const objectId = hex();
  objectStore.put(objectKeyOf(groupId, objectId), 10);
  return ok<PointerRegistration>(
    {
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: { pointerId: hex(), objectId, size: 10, envelope: 'c2VhbGVk' },
    },
    201,
  );
}

const endpointKeys = (r: PointerRegistration) => r.expected.map((e) => `${e.identity}:${e.deviceId}`).sort();

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  server = await startServer(testConfig(prefix), {
    objectStore,
    syncAdmin,
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
  for (const identity of Object.values(users)) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
  }
  for (const [user, device] of [
    ['alice', devices.alice1],
    ['alice', devices.alice2],
    ['bob', devices.bob1],
    ['carol', devices.carol1],
    ['carol', devices.carol2],
    ['erin', devices.erin1],
  ] as const) {
    const token = await enroll(users[user], PASSWORD, device);
    tokens[user] ||= token;
  }
});

afterAll(async () => {
  await server?.close();
  await redis?.quit();
  await deleteKeys(prefix);
});

describe('GET /v1/groups', () => {
  it('lists the groups a caller owns or belongs to, and drops one the caller was removed from', async () => {
    const erinsOwn = await createGroup('erin', []);
    const withBob = await createGroup('erin', [users.bob]);
    const bobs = await createGroup('bob', [users.erin]);
    const mine = await ok<GroupList>({ path: '/v1/groups', token: tokens.erin });
    expect(mine.groups.map((g) => g.groupId).sort()).toEqual([erinsOwn, withBob, bobs].sort());
    const view = mine.groups.find((g) => g.groupId === bobs)!;
    expect(view).toMatchObject({ owner: users.bob, members: [users.erin], syncMap: syncMapOf(bobs) });

    await ok({ method: 'DELETE', path: `/v1/groups/${withBob}/members/${users.bob}`, token: tokens.erin }, 204);
    const bobsNow = await ok<GroupList>({ path: '/v1/groups', token: tokens.bob });
    expect(bobsNow.groups.map((g) => g.groupId)).toContain(bobs);
    expect(bobsNow.groups.map((g) => g.groupId)).not.toContain(withBob);
  });

  it('is empty for an identity in no group, and needs authentication', async () => {
    const solo = `solo-${hex().slice(0, 8)}`;
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity: solo, password: PASSWORD } }, 201);
    const token = await enroll(solo, PASSWORD, 'solo-device-1');
    expect(await ok<GroupList>({ path: '/v1/groups', token })).toEqual({ groups: [] });
    const res = await call({ path: '/v1/groups' });
    expect(res.status).toBe(401);
    expectError(res.body, 'UNAUTHENTICATED');
  });
});

describe('POST /v1/groups/:groupId/members', () => {
  it('the owner adds members: Sync read+write granted, listed, audited once, idempotent', async () => {
    const groupId = await createGroup('alice', [users.bob]);
    const res = await addMembers(groupId, [users.carol, users.carol, users.alice]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ groupId, owner: users.alice, members: [users.bob, users.carol] });
    expect(syncAdmin.permissions.get(`${syncMapOf(groupId)}/${users.carol}`)).toEqual({
      read: true,
      write: false,
      manage: false,
    });
    const carols = await ok<GroupList>({ path: '/v1/groups', token: tokens.carol });
    expect(carols.groups.map((g) => g.groupId)).toContain(groupId);
    expect((await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.carol })).members).toEqual([
      users.bob,
      users.carol,
    ]);

    const again = await addMembers(groupId, [users.carol, users.bob]);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    const added = (await auditEntries('member-added')).filter((e) => e.groupId === groupId);
    expect(added).toEqual([
      { type: 'member-added', at: expect.any(String), groupId, identities: [users.carol], by: users.alice },
    ]);
  });

  it('re-grants Sync access when repeated after a lost grant (provisioning is idempotent)', async () => {
    const groupId = await createGroup('alice', []);
    await ok({
      method: 'POST',
      path: `/v1/groups/${groupId}/members`,
      token: tokens.alice,
      body: { members: [users.erin] },
    });
    syncAdmin.permissions.delete(`${syncMapOf(groupId)}/${users.erin}`);
    await ok({
      method: 'POST',
      path: `/v1/groups/${groupId}/members`,
      token: tokens.alice,
      body: { members: [users.erin] },
    });
    expect(syncAdmin.permissions.get(`${syncMapOf(groupId)}/${users.erin}`)).toMatchObject({
      read: true,
      write: false,
    });
  });

  it("new members' devices are expected by pointers registered afterwards, not by earlier ones", async () => {
    const groupId = await createGroup('alice', [users.bob]);
    const before = await registerFilePointer(groupId);
    await ok({
      method: 'POST',
      path: `/v1/groups/${groupId}/members`,
      token: tokens.alice,
      body: { members: [users.carol] },
    });
    const after = await registerFilePointer(groupId);
    expect(endpointKeys(before)).toEqual([`${users.alice}:${devices.alice2}`, `${users.bob}:${devices.bob1}`]);
    expect(endpointKeys(after)).toEqual([
      `${users.alice}:${devices.alice2}`,
      `${users.bob}:${devices.bob1}`,
      `${users.carol}:${devices.carol1}`,
      `${users.carol}:${devices.carol2}`,
    ]);
  });

  it(`stops at ${MAX_GROUP_MEMBERS} participants, owner included, with an error naming E3Kit's limit`, async () => {
    const crowd = await knownIdentities(MAX_GROUP_MEMBERS - 2);
    const groupId = await createGroup('alice', crowd); // 99 participants
    const [x, y] = await knownIdentities(2);
    const over = await addMembers(groupId, [x, y]);
    expect(over.status).toBe(400);
    expect(expectError(over.body, 'VALIDATION_FAILED').message).toMatch(/E3Kit.*100 participants/);
    expect((await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.alice })).members).toHaveLength(98);

    // Two adds that each fit alone, at once: the check and the add are atomic, so one loses.
    const both = await Promise.all([addMembers(groupId, [x]), addMembers(groupId, [y])]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
    const group = await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.alice });
    expect(group.members).toHaveLength(MAX_GROUP_MEMBERS - 1);
    // Already-members still pass at the limit (idempotent).
    expect((await addMembers(groupId, [crowd[0]])).status).toBe(200);
  });

  it('only the owner adds; unknown identities are named; nothing changes on refusal', async () => {
    const groupId = await createGroup('alice', [users.bob]);
    const byMember = await addMembers(groupId, [users.carol], tokens.bob);
    expect(byMember.status).toBe(403);
    expectError(byMember.body, 'FORBIDDEN');
    const byOutsider = await addMembers(groupId, [users.carol], tokens.carol);
    expect(byOutsider.status).toBe(404);
    expectError(byOutsider.body, 'GROUP_NOT_FOUND');
    const unknown = await addMembers(groupId, [users.carol, 'nobody-here']);
    expect(unknown.status).toBe(404);
    expect(expectError(unknown.body, 'IDENTITY_NOT_FOUND').details).toEqual({ identities: ['nobody-here'] });
    expect((await ok<GroupView>({ path: `/v1/groups/${groupId}`, token: tokens.alice })).members).toEqual([users.bob]);
    expect(syncAdmin.permissions.has(`${syncMapOf(groupId)}/${users.carol}`)).toBe(false);
  });

  describe('bad input', () => {
    let groupId: string;
    beforeAll(async () => {
      groupId = await createGroup('alice', []);
    });
    const path = () => `/v1/groups/${groupId}/members`;
    const cases: RefusalCase[] = [
      [
        'missing auth',
        () => ({ method: 'POST', path: path(), body: { members: [users.bob] } }),
        401,
        'UNAUTHENTICATED',
      ],
      [
        'unknown group',
        () => ({
          method: 'POST',
          path: `/v1/groups/${hex()}/members`,
          token: tokens.alice,
          body: { members: [users.bob] },
        }),
        404,
        'GROUP_NOT_FOUND',
      ],
      [
        'bad group id',
        () => ({ method: 'POST', path: '/v1/groups/xyz/members', token: tokens.alice, body: { members: [users.bob] } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'empty list',
        () => ({ method: 'POST', path: path(), token: tokens.alice, body: { members: [] } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'too many',
        () => ({
          method: 'POST',
          path: path(),
          token: tokens.alice,
          body: { members: Array.from({ length: MAX_GROUP_MEMBERS }, (_, i) => `m${i}`) },
        }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'bad identity',
        () => ({ method: 'POST', path: path(), token: tokens.alice, body: { members: ['a:b'] } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'unknown field',
        () => ({ method: 'POST', path: path(), token: tokens.alice, body: { members: [users.bob], role: 'admin' } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'missing members',
        () => ({ method: 'POST', path: path(), token: tokens.alice, body: {} }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'not JSON',
        () => ({ method: 'POST', path: path(), token: tokens.alice, body: 'bob', contentType: 'text/plain' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['wrong method', () => ({ method: 'GET', path: path(), token: tokens.alice }), 405, 'METHOD_NOT_ALLOWED'],
      [
        'groups: wrong method',
        () => ({ method: 'DELETE', path: '/v1/groups', token: tokens.alice }),
        405,
        'METHOD_NOT_ALLOWED',
      ],
    ];
    itRefusesAll(call, cases);
  });
});

describe('GET /v1/devices', () => {
  it("lists the caller's own devices, oldest first, and forgets removed ones", async () => {
    const list = await ok<DeviceList>({ path: '/v1/devices', token: tokens.carol });
    expect(list.devices.map((d) => d.deviceId)).toEqual([devices.carol1, devices.carol2]);
    for (const d of list.devices) {
      expect(d.identity).toBe(users.carol);
      expect(Date.parse(d.createdAt)).toBeLessThanOrEqual(Date.now());
    }
    const extra = 'carol-device-3';
    await enroll(users.carol, PASSWORD, extra);
    expect((await ok<DeviceList>({ path: '/v1/devices', token: tokens.carol })).devices.map((d) => d.deviceId)).toEqual(
      [devices.carol1, devices.carol2, extra],
    );
    await call({ method: 'DELETE', path: `/v1/devices/${extra}`, token: tokens.carol });
    expect((await ok<DeviceList>({ path: '/v1/devices', token: tokens.carol })).devices).toEqual(list.devices);
    expect((await ok<DeviceList>({ path: '/v1/devices', token: tokens.bob })).devices.map((d) => d.deviceId)).toEqual([
      devices.bob1,
    ]);
  });

  it('needs authentication and refuses other methods', async () => {
    const anonymous = await call({ path: '/v1/devices' });
    expect(anonymous.status).toBe(401);
    expectError(anonymous.body, 'UNAUTHENTICATED');
    const post = await call({ method: 'POST', path: '/v1/devices', token: tokens.bob });
    expect(post.status).toBe(405);
    expectError(post.body, 'METHOD_NOT_ALLOWED');
  });
});
