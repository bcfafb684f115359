import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { DEVICE_HEADER, syncMapOf } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';
import type { RedisClient } from '@conduit/server';
import { deploymentKeyPatterns, openRedis, scanKeys } from './support/redis.js';

// Issue 10 F: authorisation before side effects, on the real local stack. Every mutating route
// (and every read that would reveal existence) is called by three callers that must not act on
// the group: an outsider, a member the owner removed, and a member's revoked device. Each gets the
// documented refusal (outsiders exactly the bytes a nonexistent group or pointer gets) and nothing
// changes: not Redis (groups, ledger, records, uploads, audit log, purge queue), not Sync.

/** What a route's path and body are built from; `groupId`/`pointerId` are swapped for random ids. */
interface Ctx {
  groupId: string;
  pointerId: string;
  objectId: string;
  uploadId: string;
  recordId: string;
  owner: string;
  member: string;
  caller: string;
}

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: (c: Ctx) => string;
  body?: (c: Ctx) => unknown;
  /** Which unknown id answers alike: the group's (404 GROUP_NOT_FOUND) or the pointer's. */
  keyedBy?: 'pointer';
}

const hex = () => randomBytes(16).toString('hex');

// One line per route. Bodies are valid, so a refusal can only come from authorisation.
const ROUTES: Route[] = [
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}` },
  { method: 'DELETE', path: (c) => `/v1/groups/${c.groupId}` },
  { method: 'POST', path: (c) => `/v1/groups/${c.groupId}/members`, body: (c) => ({ members: [c.caller] }) },
  { method: 'DELETE', path: (c) => `/v1/groups/${c.groupId}/members/${c.caller}` },
  { method: 'DELETE', path: (c) => `/v1/groups/${c.groupId}/members/${c.member}` },
  { method: 'DELETE', path: (c) => `/v1/groups/${c.groupId}/members/${c.owner}` },
  { method: 'PUT', path: (c) => `/v1/groups/${c.groupId}/name`, body: () => ({ sealedName: 'AAAA' }) },
  { method: 'POST', path: (c) => `/v1/groups/${c.groupId}/objects`, body: () => ({ size: 1000 }) },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/objects/${c.objectId}` },
  { method: 'POST', path: (c) => `/v1/groups/${c.groupId}/uploads`, body: () => ({ size: 20 * 1024 * 1024 }) },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/uploads/${c.uploadId}` },
  { method: 'DELETE', path: (c) => `/v1/groups/${c.groupId}/uploads/${c.uploadId}` },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/uploads/${c.uploadId}/parts`,
    body: () => ({ parts: [{ partNumber: 1, size: 5 * 1024 * 1024 }] }),
  },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/uploads/${c.uploadId}/complete`,
    body: () => ({ parts: [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }] }),
  },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/pointers`,
    body: (c) => ({ pointerId: hex(), objectId: c.objectId, size: 1000, envelope: 'AAAA' }),
  },
  {
    method: 'POST',
    path: (c) => `/v1/pointers/${c.pointerId}/ack`,
    body: (c) => ({ objectId: c.objectId, envelopeSha256: '0'.repeat(64), signature: 'AAAA' }),
    keyedBy: 'pointer',
  },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/anomalies`,
    body: (c) => ({ pointerId: c.pointerId, kind: 'vanished', code: 'POINTER_NOT_FOUND' }),
  },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/members/${c.member}/devices` },
  { method: 'POST', path: (c) => `/v1/groups/${c.groupId}/sync` },
  { method: 'GET', path: (c) => `/v1/pointers/${c.pointerId}`, keyedBy: 'pointer' },
  { method: 'DELETE', path: (c) => `/v1/pointers/${c.pointerId}`, keyedBy: 'pointer' },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/records/${c.recordId}/versions`,
    body: () => ({
      versionId: hex(),
      parentVersionId: null,
      pointerId: hex(),
      objectId: null,
      deleted: true,
      envelope: 'AAAA',
    }),
  },
  {
    method: 'POST',
    path: (c) => `/v1/groups/${c.groupId}/record-versions`,
    body: (c) => ({
      versions: [
        {
          recordId: c.recordId,
          versionId: hex(),
          parentVersionId: null,
          pointerId: hex(),
          objectId: null,
          deleted: false,
          envelope: 'AAAA',
        },
      ],
    }),
  },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/records/${c.recordId}/versions` },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/records/${c.recordId}` },
  { method: 'GET', path: (c) => `/v1/groups/${c.groupId}/feed/0` },
];

interface Caller {
  name: string;
  identity: string;
  token: string;
  deviceId: string;
  /** The refusal expected, or 'as-unknown' for the same bytes as a nonexistent group/pointer. */
  expect: 'as-unknown' | { status: number; code: string };
}

describe('adversary: a non-member, a removed member and a revoked device act on a group', () => {
  let dir: string;
  let stack: LocalStack;
  let redis: RedisClient;
  let prefix: string;
  const clients: ConduitClient[] = [];
  const callers: Caller[] = [];
  let ctx: Omit<Ctx, 'caller'>;

  const open = async (identity: string, device: string, password: string, create = true) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    await (create ? client.register(password) : client.login(password));
    return client;
  };
  /** The device's real bearer token, as the SDK stored it. */
  const tokenOf = async (device: string, identity: string) =>
    (JSON.parse(await readFile(join(dir, device, identity, 'session.json'), 'utf8')) as { token: string }).token;

  const call = async (route: Route, c: Ctx, who: { token: string; deviceId: string }) => {
    const body = route.body?.(c);
    const res = await fetch(`${stack.serverUrl}${route.path(c)}`, {
      method: route.method,
      headers: {
        authorization: `Bearer ${who.token}`,
        [DEVICE_HEADER]: who.deviceId,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };

  /** Every key of this stack in Redis with its value, except BullMQ's own timers and locks. */
  const redisState = async (): Promise<Map<string, string>> => {
    const keys = await scanKeys(redis, deploymentKeyPatterns(prefix));
    const state = new Map<string, string>();
    for (const key of keys.sort()) {
      // The workers' heartbeats change on their own, and so do Sync token buckets (they refill, and
      // expire a minute after their last use); jobs and their lists are compared, and the Sync
      // state below shows whether anything was written to Sync. Request-limit counters count
      // every request, refused ones too: that is their job, checked before anything else. The
      // sign-in attempt counters expire on their own while the test runs.
      if (
        /:(stalled-check|lock|events|metrics|marker|meta)$|:repeat|:bucket:|:rl:(identity|address|anonymous):|:authrate:/.test(
          key,
        )
      ) {
        continue;
      }
      state.set(key, await valueOf(redis, key));
    }
    return state;
  };

  /** The group map's items and every actor's permission on it, through the Sync REST API. */
  const syncState = async (): Promise<unknown> => {
    const map = encodeURIComponent(syncMapOf(ctx.groupId));
    const items = await stack.inspect.syncGet(`Maps/${map}/Items?PageSize=100`);
    const permissions: Record<string, unknown> = {};
    for (const identity of ['alice', 'bob', 'carol', 'mallory']) {
      permissions[identity] = await stack.inspect.syncGet(`Maps/${map}/Permissions/${identity}`);
    }
    return { items, permissions };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adversary-routes-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    prefix = (JSON.parse(await readFile(join(dir, 'stack', 'secrets.json'), 'utf8')) as { redisKeyPrefix: string })
      .redisKeyPrefix;
    redis = openRedis(stack.redisUrl);

    const alice = await open('alice', 'alice-laptop', 'alice password 1');
    const bobPhone = await open('bob', 'bob-phone', 'bob password 123');
    const bobLaptop = await open('bob', 'bob-laptop', 'bob password 123', false);
    const carol = await open('carol', 'carol-desk', 'carol password 1');
    const mallory = await open('mallory', 'mallory-desk', 'mallory password');
    const { groupId } = await alice.createGroup(['bob', 'carol']);

    const file = join(dir, 'report.bin');
    await writeFile(file, randomBytes(10_000));
    const sent = await alice.sendFile(groupId, file);
    const record = await (await alice.records(groupId)).put('profile', { name: 'alice' });
    const aliceToken = await tokenOf('alice-laptop', 'alice');
    const upload = await fetch(`${stack.serverUrl}/v1/groups/${groupId}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ size: 20 * 1024 * 1024 }),
    });
    expect(upload.status).toBe(201);
    const { uploadId } = (await upload.json()) as { uploadId: string };

    await alice.removeMember(groupId, 'carol');
    const laptopToken = await tokenOf('bob-laptop', 'bob');
    await bobPhone.revokeDevice(bobLaptop.deviceId);

    ctx = {
      groupId,
      pointerId: sent.pointerId,
      objectId: sent.objectId,
      uploadId,
      recordId: record.recordId,
      owner: 'alice',
      member: 'bob',
    };
    callers.push(
      {
        name: 'a non-member',
        identity: 'mallory',
        token: await tokenOf('mallory-desk', 'mallory'),
        deviceId: mallory.deviceId,
        expect: 'as-unknown',
      },
      {
        name: 'a removed member',
        identity: 'carol',
        token: await tokenOf('carol-desk', 'carol'),
        deviceId: carol.deviceId,
        expect: 'as-unknown',
      },
      {
        name: "a member's revoked device",
        identity: 'bob',
        token: laptopToken,
        deviceId: bobLaptop.deviceId,
        expect: { status: 403, code: 'DEVICE_REVOKED' },
      },
    );
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    redis?.disconnect();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the fixtures are real: the owner reaches every fixture the table names', async () => {
    const owner = { token: await tokenOf('alice-laptop', 'alice'), deviceId: clients[0]!.deviceId };
    const c = { ...ctx, caller: 'alice' };
    for (const route of ROUTES.filter((r) => r.method === 'GET')) {
      const res = await call(route, c, owner);
      expect(res.status, `${route.method} ${route.path(c)}: ${res.text}`).toBe(200);
    }
    // And the snapshots see the group: its keys in Redis, its pointer item and grants in Sync.
    expect([...(await redisState()).keys()].filter((k) => k.includes(ctx.groupId)).length).toBeGreaterThan(3);
    const sync = (await syncState()) as {
      items: { body: { items: { key: string }[] } };
      permissions: Record<string, { status: number }>;
    };
    expect(sync.items.body.items.map((i) => i.key)).toContain(ctx.pointerId);
    expect(Object.entries(sync.permissions).map(([who, p]) => [who, p.status])).toEqual([
      ['alice', 200],
      ['bob', 200],
      ['carol', 404],
      ['mallory', 404],
    ]);
  });

  for (const [index, route] of ROUTES.entries()) {
    it(`${route.method} ${route.path({ groupId: ':g', pointerId: ':p', objectId: ':o', uploadId: ':u', recordId: ':r', owner: ':owner', member: ':member', caller: ':self' })} (#${index})`, async () => {
      for (const caller of callers) {
        const c: Ctx = { ...ctx, caller: caller.identity };
        const [redisBefore, syncBefore] = [await redisState(), await syncState()];
        const res = await call(route, c, caller);
        const what = `${caller.name}: ${route.method} ${route.path(c)} -> ${res.status} ${res.text}`;
        if (caller.expect === 'as-unknown') {
          const unknown =
            route.keyedBy === 'pointer' ? { ...c, pointerId: hex() } : { ...c, groupId: hex(), pointerId: hex() };
          const reference = await call(route, unknown, caller);
          expect(reference.status, what).toBe(404);
          expect(JSON.parse(reference.text)).toMatchObject({
            error: { code: route.keyedBy === 'pointer' ? 'POINTER_NOT_FOUND' : 'GROUP_NOT_FOUND' },
          });
          expect(res.status, what).toBe(reference.status);
          expect(res.text, what).toBe(reference.text);
        } else {
          expect(res.status, what).toBe(caller.expect.status);
          expect(JSON.parse(res.text), what).toMatchObject({ error: { code: caller.expect.code } });
        }
        expect(diff(redisBefore, await redisState()), `${what}: Redis changed`).toEqual([]);
        expect(await syncState(), `${what}: Sync changed`).toEqual(syncBefore);
      }
    });
  }
});

/** A key's value in a comparable form, whatever its type. */
async function valueOf(redis: RedisClient, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return `string:${await redis.get(key)}`;
    case 'hash':
      return `hash:${JSON.stringify(Object.entries(await redis.hgetall(key)).sort())}`;
    case 'list':
      return `list:${JSON.stringify(await redis.lrange(key, 0, -1))}`;
    case 'set':
      return `set:${JSON.stringify((await redis.smembers(key)).sort())}`;
    case 'zset':
      return `zset:${JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))}`;
    case 'stream':
      return `stream:${JSON.stringify(await redis.xrange(key, '-', '+'))}`;
    default:
      return type;
  }
}

/** Keys added, removed or changed between two snapshots. */
function diff(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, value] of after) if (before.get(key) !== value) changed.push(`changed or added ${key}`);
  for (const key of before.keys()) if (!after.has(key)) changed.push(`removed ${key}`);
  return changed;
}
