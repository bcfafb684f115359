/**
 * Membership and device changes, delivery status and the audit route over HTTP: the real server
 * (dev auth), real Redis, and the devstack Sync emulator through TwilioSyncAdmin.
 */
import { TEST_BINDING, TEST_RECEIPT } from '../testing/ledger.js';
import { randomBytes } from 'node:crypto';
import { AUDIT_HEAD_HEADER, DEVICE_HEADER, syncMapOf, verifyLines } from '@conduit/shared';
import { Redis } from 'ioredis';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncCredentials, type SyncEmulator } from '@conduit/devstack';
import { LocalSyncHttpClient } from '../adapters/twilio/local-http-client.js';
import { runAccountCommand } from '../ops/account-commands.js';
import { TwilioSyncAdmin } from '../adapters/twilio/twilio-sync-admin.js';
import { createKeys, shardOf } from '../adapters/redis/keys.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeObjectStore,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const PASSWORD = 'correct horse battery';
let redis: Redis;
let ledger: PointerLedger;
let creds: SyncCredentials;
let emu: SyncEmulator;
let server: RunningServer;
let rest: ReturnType<typeof twilio>;

interface User {
  identity: string;
  /** The first device's session. */
  token: string;
  devices: string[];
  /** Each device's own session (sessions are bound to one device). */
  sessions: Record<string, string>;
}

async function call(
  user: User | null,
  method: string,
  path: string,
  body?: unknown,
  device?: string,
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (user) headers.authorization = `Bearer ${device ? user.sessions[device] : user.token}`;
  if (device) headers[DEVICE_HEADER] = device;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Registers `identity` and enrolls `devices` devices, each logged in on its own. */
async function signUp(identity: string, devices = 1, registrationCode?: string): Promise<User> {
  const body = { identity, password: PASSWORD, ...(registrationCode ? { registrationCode } : {}) };
  expect((await call(null, 'POST', '/v1/auth/register', body)).status).toBe(201);
  const u: User = { identity, token: '', devices: [], sessions: {} };
  for (let i = 0; i < devices; i += 1) {
    const deviceId = `device-${i}`;
    const login = await call(null, 'POST', '/v1/auth/login', { identity, password: PASSWORD, deviceId });
    const token = (login.json as { token: string }).token;
    expect((await call({ ...u, token }, 'PUT', `/v1/devices/${deviceId}`)).status).toBe(200);
    u.devices.push(deviceId);
    u.sessions[deviceId] = token;
    u.token ||= token;
  }
  return u;
}

const user = (name: string, devices = 1) => signUp(`${name}-${randomBytes(3).toString('hex')}`, devices);

async function group(owner: User, members: User[]): Promise<string> {
  const groupId = randomBytes(16).toString('hex');
  const res = await call(owner, 'POST', '/v1/groups', { groupId, members: members.map((m) => m.identity) });
  expect(res.status).toBe(201);
  return groupId;
}

/** Registers through the ledger with the server's own snapshot rule (the route needs an S3 object). */
async function pointer(groupId: string, from: User, to: User[]): Promise<string> {
  const pointerId = randomBytes(16).toString('hex');
  const expected = to.flatMap((u) => u.devices.map((deviceId) => ({ identity: u.identity, deviceId })));
  const outcome = await ledger.register({
    pointerId,
    groupId,
    sender: { identity: from.identity, deviceId: from.devices[0]! },
    expected,
    createdAt: new Date(),
    retentionSeconds: 3600,
    binding: TEST_BINDING,
    epoch: await ledger.epochOf(groupId),
  });
  expect(outcome).toBe('created');
  return pointerId;
}

const permission = (groupId: string, identity: string) =>
  rest.sync.v1.services(creds.serviceSid).syncMaps(syncMapOf(groupId)).syncMapPermissions(identity).fetch();

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  ledger = new PointerLedger(redis, keys);
  creds = createSyncCredentials();
  emu = await startSyncEmulator({ ...creds, aclEnabled: true });
  rest = twilio(creds.accountSid, creds.authToken, { httpClient: new LocalSyncHttpClient(emu.restUrl) });
  const config = testConfig(prefix);
  server = await startServer(
    { ...config, adminIdentities: ['root-admin'] },
    {
      syncAdmin: new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 }),
      objectStore: new FakeObjectStore(),
      virgilTokens: new FakeTokenIssuer('virgil'),
      syncTokens: new FakeTokenIssuer('sync'),
    },
  );
});

afterAll(async () => {
  await server.close();
  await emu.close();
  await deleteKeys(prefix);
  await redis.quit();
});

describe('DELETE /v1/groups/:groupId/members/:identity', () => {
  it('drops the member’s pending acks, purges pointers waiting only on it, revokes Sync access, audits', async () => {
    const [alice, bob, carol] = [await user('alice'), await user('bob', 2), await user('carol')];
    const groupId = await group(alice, [bob, carol]);
    const onlyBobLeft = await pointer(groupId, alice, [bob, carol]);
    const both = await pointer(groupId, alice, [bob, carol]);
    expect((await call(carol, 'POST', `/v1/pointers/${onlyBobLeft}/ack`, TEST_RECEIPT, carol.devices[0])).status).toBe(
      200,
    );
    expect((await permission(groupId, bob.identity)).read).toBe(true);

    // Only the owner removes others; the owner cannot be removed.
    expect((await call(carol, 'DELETE', `/v1/groups/${groupId}/members/${bob.identity}`)).status).toBe(403);
    const ownerOut = await call(carol, 'DELETE', `/v1/groups/${groupId}/members/${alice.identity}`);
    expect(ownerOut.status).toBe(409);
    expect(ownerOut.json).toMatchObject({ error: { code: 'OWNER_CANNOT_LEAVE' } });

    expect((await call(alice, 'DELETE', `/v1/groups/${groupId}/members/${bob.identity}`)).status).toBe(204);
    const status = await call(alice, 'GET', `/v1/pointers/${onlyBobLeft}`);
    expect(status.json).toMatchObject({ state: 'purging', reason: 'member-removed' });
    expect((status.json as { dropped: unknown[] }).dropped).toHaveLength(2);
    expect((await call(alice, 'GET', `/v1/pointers/${both}`)).json).toMatchObject({ state: 'pending' });
    expect(await redis.lrange(keys.outbox(shardOf(groupId)), 0, -1)).toContain(onlyBobLeft);
    await expect(permission(groupId, bob.identity)).rejects.toMatchObject({ status: 404 });
    expect((await call(bob, 'GET', `/v1/groups/${groupId}`)).status).toBe(404);
    // A removed member is an outsider: it cannot repeat its removal (nor learn the owner).
    for (const who of [bob.identity, alice.identity]) {
      const again = await call(bob, 'DELETE', `/v1/groups/${groupId}/members/${who}`);
      expect(again.status).toBe(404);
      expect(again.json).toMatchObject({ error: { code: 'GROUP_NOT_FOUND' } });
    }
    // Repeating is harmless (idempotent cleanup).
    expect((await call(alice, 'DELETE', `/v1/groups/${groupId}/members/${bob.identity}`)).status).toBe(204);

    // A member may leave by itself.
    expect((await call(carol, 'DELETE', `/v1/groups/${groupId}/members/${carol.identity}`)).status).toBe(204);
    expect((await call(alice, 'GET', `/v1/pointers/${both}`)).json).toMatchObject({
      state: 'purging',
      reason: 'member-removed',
    });
    const removals = (await redis.lrange(keys.auditLog(), 0, -1))
      .map((l) => JSON.parse(l).entry)
      .filter((e) => e.type === 'member-removed' && e.groupId === groupId);
    expect(removals).toEqual([
      expect.objectContaining({ identity: bob.identity, by: alice.identity, droppedAcks: 4, purgesEnqueued: 1 }),
      expect.objectContaining({ identity: carol.identity, by: carol.identity, droppedAcks: 1, purgesEnqueued: 1 }),
    ]);
  });
});

describe('DELETE /v1/devices/:deviceId', () => {
  it('drops that device’s pending acks in every group and refuses its later acks', async () => {
    const [alice, bob] = [await user('alice'), await user('bob', 2)];
    const g1 = await group(alice, [bob]);
    const g2 = await group(alice, [bob]);
    const p1 = await pointer(g1, alice, [bob]);
    const p2 = await pointer(g2, alice, [bob]);
    const [keep, lose] = bob.devices as [string, string];
    expect((await call(bob, 'POST', `/v1/pointers/${p1}/ack`, TEST_RECEIPT, keep)).status).toBe(200);

    expect((await call(bob, 'DELETE', `/v1/devices/${lose}`)).status).toBe(204);
    expect((await call(bob, 'GET', `/v1/pointers/${p1}`)).json).toMatchObject({
      state: 'purging',
      reason: 'device-removed',
      dropped: [{ identity: bob.identity, deviceId: lose }],
    });
    expect((await call(bob, 'GET', `/v1/pointers/${p2}`)).json).toMatchObject({ state: 'pending' });
    const ack = await call(bob, 'POST', `/v1/pointers/${p2}/ack`, TEST_RECEIPT, lose);
    expect(ack.status).toBe(403);
    expect(ack.json).toMatchObject({ error: { code: 'DEVICE_REVOKED' } });
    expect((await call(bob, 'POST', `/v1/pointers/${p2}/ack`, TEST_RECEIPT, keep)).json).toMatchObject({
      complete: true,
    });
  });
});

describe('GET /v1/admin/audit', () => {
  it('streams the chain as NDJSON to admins only, with the head in a header', async () => {
    const stranger = await user('mallory');
    expect((await call(stranger, 'GET', '/v1/admin/audit')).status).toBe(403);
    expect((await call(null, 'GET', '/v1/admin/audit')).status).toBe(401);

    // Admin identities are reserved: registering one takes the operator's bootstrap code.
    const code = await runAccountCommand(() => testConfig(prefix), 'bootstrap', 'root-admin');
    const adminUser = await signUp('root-admin', 1, code);
    const res = await call(adminUser, 'GET', '/v1/admin/audit');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = res.text.trimEnd().split('\n');
    const [seq, hash] = (res.headers.get(AUDIT_HEAD_HEADER) ?? '').split(' ');
    expect(lines).toHaveLength(Number(seq));
    expect(verifyLines(lines)).toEqual({ ok: true, records: lines.length, head: hash });
    // No file names or content: entries carry ids, identities, device ids, counts and times only.
    expect(res.text).not.toMatch(/name|content|size/i);

    const tail = await call(adminUser, 'GET', '/v1/admin/audit?from=2');
    expect(tail.text.trimEnd().split('\n')).toEqual(lines.slice(1));
    expect((await call(adminUser, 'GET', '/v1/admin/audit?from=0')).status).toBe(400);
  });
});
