import { randomBytes } from 'node:crypto';
import type { GroupRetentionView } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
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
import { apiCaller, expectError } from '../testing/http.js';

// GET/PUT /v1/groups/:groupId/retention over real Redis and HTTP: who may read and set, what is stored and audited.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const hex = () => randomBytes(16).toString('hex');
const PASSWORD = 'correct horse battery';
let server: RunningServer;
let redis: Redis;
const { call, ok, enroll } = apiCaller(() => server.url);
const tokens = { alice: '', bob: '', erin: '' };
let groupId: string;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  server = await startServer(testConfig(prefix, { retention: { files: { kind: 'age', seconds: 30 * 86_400 } } }), {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
  for (const identity of Object.keys(tokens) as (keyof typeof tokens)[]) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
    tokens[identity] = await enroll(identity, PASSWORD, `${identity}-device-1`);
  }
  groupId = hex();
  await ok({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: ['bob'] } }, 201);
});

afterAll(async () => {
  await server?.close();
  await redis?.quit();
  await deleteKeys(prefix);
});

const path = () => `/v1/groups/${groupId}/retention`;
const put = (body: unknown, token = tokens.alice) => call({ method: 'PUT', path: path(), token, body });

async function auditEntries(type: string): Promise<Record<string, unknown>[]> {
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry).filter((e) => e.type === type);
}

describe('group retention policies', () => {
  it('follows the deployment until the owner sets a rule; members read where each rule comes from', async () => {
    expect(await ok<GroupRetentionView>({ path: path(), token: tokens.bob })).toEqual({
      groupId,
      policy: {},
      effective: { files: { rule: '30d', source: 'deployment' }, records: { rule: 'keep', source: 'deployment' } },
    });
    const set = await put({ files: 'delivered+48h', records: '6y' });
    expect(set.status).toBe(200);
    const view = await ok<GroupRetentionView>({ path: path(), token: tokens.bob });
    // Stored canonically: 48h is 2d.
    expect(view.policy).toEqual({ files: 'delivered+2d', records: '6y' });
    expect(view.effective).toEqual({
      files: { rule: 'delivered+2d', source: 'group' },
      records: { rule: '6y', source: 'group' },
    });
    expect(await redis.hgetall(keys.groupRetention(groupId))).toEqual({ files: 'delivered+2d', records: '6y' });
    const entries = (await auditEntries('retention-policy-set')).filter((e) => e.groupId === groupId);
    expect(entries.at(-1)).toMatchObject({ by: 'alice', files: 'delivered+2d', records: '6y' });
  });

  it('{} clears the group rules (audited with nulls)', async () => {
    await put({ files: '1y' });
    const cleared = await put({});
    expect((cleared.body as GroupRetentionView).effective.files).toEqual({ rule: '30d', source: 'deployment' });
    expect(await redis.exists(keys.groupRetention(groupId))).toBe(0);
    expect((await auditEntries('retention-policy-set')).at(-1)).toMatchObject({ groupId, files: null, records: null });
  });

  it('refuses members (403) and outsiders (404, as for no group) before reading the body, and changes nothing', async () => {
    await put({ files: '10d' });
    const before = await redis.hgetall(keys.groupRetention(groupId));
    const audited = (await auditEntries('retention-policy-set')).length;
    expectError((await put({ files: 'keep' }, tokens.bob)).body, 'FORBIDDEN');
    expectError((await put({ files: 'nonsense' }, tokens.erin)).body, 'GROUP_NOT_FOUND');
    expectError((await put({ files: 'keep' }, tokens.erin)).body, 'GROUP_NOT_FOUND');
    expectError((await call({ path: path(), token: tokens.erin })).body, 'GROUP_NOT_FOUND');
    expectError((await call({ path: `/v1/groups/${hex()}/retention`, token: tokens.alice })).body, 'GROUP_NOT_FOUND');
    expect(await redis.hgetall(keys.groupRetention(groupId))).toEqual(before);
    expect((await auditEntries('retention-policy-set')).length).toBe(audited);
  });

  it('refuses rules outside the grammar with VALIDATION_FAILED', async () => {
    for (const body of [{ files: '10' }, { records: 'delivered+1d' }, { files: '0d' }, { audit: '1y' }, { files: 7 }]) {
      const res = await put(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectError(res.body, 'VALIDATION_FAILED');
    }
  });
});
