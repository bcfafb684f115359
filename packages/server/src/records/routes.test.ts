import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, FEED_PAGE_SIZE, MAX_ENVELOPE_CHARS, MAX_RECORD_BYTES } from '@conduit/shared';
import type { ErrorCode, FeedPage, PointerStatus, RecordHistory, RecordVersion, RecordWrite } from '@conduit/shared';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import { startServer, type RunningServer } from '../server.js';
import { FakeSyncAdmin, FakeTokenIssuer, deleteKeys, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { apiCaller, expectError, type Call } from '../testing/http.js';

// Real Redis, real s3rver (in this process), real HTTP; only Sync and the token issuers are fakes.
const prefix = randomKeyPrefix();
const hex = () => randomBytes(16).toString('hex');
const PASSWORD = 'correct horse battery';
const ENVELOPE = Buffer.from('sealed record envelope').toString('base64');

let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let directory: string;
let objectStore: S3ObjectStore;
let server: RunningServer;
const { call, ok, enroll } = apiCaller(() => server.url);

// alice (two devices) owns the group with bob and dave; carol is outside it.
const users = { alice: 'alice', bob: 'bob', carol: 'carol', dave: 'dave' };
const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  carol1: 'carol-device-1',
  dave1: 'dave-device-01',
};
/** Sessions, each bound to one device: alice's to alice1, alice2's to alice2, the others' to their only one. */
const tokens = { alice: '', alice2: '', bob: '', carol: '', dave: '' };
const groupId = hex();
const carolsGroupId = hex();
const OBJECT_BYTES = randomBytes(37);
let objectId: string;
let carolsObjectId: string;

/** Uploads `bytes` into the group the way a client does: a presigned PUT straight to S3. */
async function upload(token: string, group: string, bytes: Buffer): Promise<string> {
  const put = await ok<{ objectId: string; url: string; headers: Record<string, string> }>(
    { method: 'POST', path: `/v1/groups/${group}/objects`, token, body: { size: bytes.length } },
    201,
  );
  const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: bytes });
  expect(res.status).toBe(200);
  return put.objectId;
}

const versionsPath = (recordId: string, group = groupId) => `/v1/groups/${group}/records/${recordId}/versions`;

interface Write {
  parentVersionId: string | null;
  versionId?: string;
  pointerId?: string;
  objectId?: string | null;
  deleted?: boolean;
  envelope?: string;
}

const writeBody = (w: Write) => ({
  versionId: w.versionId ?? hex(),
  parentVersionId: w.parentVersionId,
  pointerId: w.pointerId ?? hex(),
  objectId: w.objectId === undefined ? objectId : w.objectId,
  deleted: w.deleted ?? false,
  envelope: w.envelope ?? ENVELOPE,
});

function put(recordId: string, w: Write, as = { token: '', device: devices.alice1 }, group = groupId) {
  return call({
    method: 'POST',
    path: versionsPath(recordId, group),
    token: as.token || tokens.alice,
    device: as.device,
    body: writeBody(w),
  });
}

async function putOk(recordId: string, w: Write): Promise<RecordWrite> {
  const res = await put(recordId, w);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as RecordWrite;
}

const sortedEndpoints = (list: { identity: string; deviceId: string }[]) =>
  list.map((e) => `${e.identity}:${e.deviceId}`).sort();

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'conduit-records-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await s3rver.run();
  const s3 = {
    bucket: 'conduit-records',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    presignTtlSeconds: 300,
  };
  objectStore = new S3ObjectStore(s3);
  await objectStore.ensureBucket();
  server = await startServer(testConfig(prefix, { s3 }), {
    objectStore,
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });

  for (const identity of Object.values(users)) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
  }
  tokens.alice = await enroll(users.alice, PASSWORD, devices.alice1);
  tokens.alice2 = await enroll(users.alice, PASSWORD, devices.alice2);
  tokens.bob = await enroll(users.bob, PASSWORD, devices.bob1);
  tokens.carol = await enroll(users.carol, PASSWORD, devices.carol1);
  tokens.dave = await enroll(users.dave, PASSWORD, devices.dave1);
  await ok(
    { method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: [users.bob, users.dave] } },
    201,
  );
  await ok(
    { method: 'POST', path: '/v1/groups', token: tokens.carol, body: { groupId: carolsGroupId, members: [] } },
    201,
  );
  objectId = await upload(tokens.alice, groupId, OBJECT_BYTES);
  carolsObjectId = await upload(tokens.carol, carolsGroupId, randomBytes(5));
});

afterAll(async () => {
  await server?.close();
  objectStore?.close();
  await s3rver?.close();
  await deleteKeys(prefix);
  await rm(directory, { recursive: true, force: true });
});

describe('writes and optimistic concurrency', () => {
  it('creates a record, registers its pointer and serves it as the head', async () => {
    const recordId = hex();
    const body = writeBody({ parentVersionId: null });
    const write = await ok<RecordWrite>(
      { method: 'POST', path: versionsPath(recordId), token: tokens.alice, device: devices.alice1, body },
      201,
    );
    expect(write.version).toMatchObject({
      recordId,
      versionId: body.versionId,
      parentVersionId: null,
      objectId,
      size: OBJECT_BYTES.length,
      deleted: false,
      envelope: ENVELOPE,
      sender: { identity: users.alice, deviceId: devices.alice1 },
      pointerId: body.pointerId,
    });
    expect(write.version.seq).toBeGreaterThan(0);
    expect(write.pointer).toMatchObject({ pointerId: body.pointerId, groupId, syncMap: `g_${groupId}` });
    // Every device of every member but the writing one.
    expect(sortedEndpoints(write.pointer.expected)).toEqual([
      `${users.alice}:${devices.alice2}`,
      `${users.bob}:${devices.bob1}`,
      `${users.dave}:${devices.dave1}`,
    ]);
    const status = await ok<PointerStatus>({ path: `/v1/pointers/${body.pointerId}`, token: tokens.bob });
    expect(status.state).toBe('pending');
    expect(sortedEndpoints(status.expected)).toEqual(sortedEndpoints(write.pointer.expected));

    const head = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob });
    expect(head).toEqual(write.version);
  });

  it('updates on the head; a stale parent or a second create gets 409 with the head', async () => {
    const recordId = hex();
    const v1 = await putOk(recordId, { parentVersionId: null });
    const v2 = await putOk(recordId, { parentVersionId: v1.version.versionId });
    expect(v2.version.parentVersionId).toBe(v1.version.versionId);
    expect(v2.version.seq).toBeGreaterThan(v1.version.seq);

    const stale = await put(recordId, { parentVersionId: v1.version.versionId });
    expect(stale.status).toBe(409);
    expect(expectError(stale.body, 'RECORD_CONFLICT').details).toEqual({ head: v2.version });

    const create = await put(recordId, { parentVersionId: null });
    expect(create.status).toBe(409);
    expect(expectError(create.body, 'RECORD_CONFLICT').details).toEqual({ head: v2.version });

    // A parent that belongs to no version of this record is just as stale.
    const foreign = await put(hex(), { parentVersionId: v2.version.versionId });
    expect(foreign.status).toBe(409);
    expect(expectError(foreign.body, 'RECORD_CONFLICT').details).toEqual({ head: null });
  });

  it('a tombstone is the head: it reads as deleted and later writes build on it', async () => {
    const recordId = hex();
    const v1 = await putOk(recordId, { parentVersionId: null });
    const gone = await putOk(recordId, { parentVersionId: v1.version.versionId, objectId: null, deleted: true });
    expect(gone.version).toMatchObject({ deleted: true, objectId: null, size: 0 });
    const head = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob });
    expect(head).toEqual(gone.version);

    const recreate = await put(recordId, { parentVersionId: null });
    expect(recreate.status).toBe(409);
    expect(expectError(recreate.body, 'RECORD_CONFLICT').details).toEqual({ head: gone.version });

    const back = await putOk(recordId, { parentVersionId: gone.version.versionId });
    expect(back.version).toMatchObject({ deleted: false, objectId, parentVersionId: gone.version.versionId });
  });

  it('a retried write (same versionId, same content) answers the stored version; other content conflicts', async () => {
    const recordId = hex();
    const body = writeBody({ parentVersionId: null });
    const request = { method: 'POST', path: versionsPath(recordId), token: tokens.alice, device: devices.alice1, body };
    const first = await ok<RecordWrite>(request, 201);
    const again = await ok<RecordWrite>(request, 201);
    expect(again).toEqual(first);

    const changed = await call({ ...request, body: { ...body, envelope: Buffer.from('other').toString('base64') } });
    expect(changed.status).toBe(409);
    expect(expectError(changed.body, 'RECORD_CONFLICT').details).toEqual({ head: first.version });
    // The same retry from another device is another writer: conflict, not a replay.
    const otherDevice = await call({ ...request, token: tokens.alice2, device: devices.alice2 });
    expect(otherDevice.status).toBe(409);

    const history = await ok<RecordHistory>({ path: versionsPath(recordId), token: tokens.alice });
    expect(history.versions).toEqual([first.version]);
  });

  it('refuses a pointer id already used by a record version or a file pointer', async () => {
    const first = await putOk(hex(), { parentVersionId: null });
    const reused = await put(hex(), { parentVersionId: null, pointerId: first.version.pointerId });
    expect(reused.status).toBe(409);
    expectError(reused.body, 'POINTER_EXISTS');

    const filePointer = hex();
    await ok(
      {
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: tokens.alice,
        device: devices.alice1,
        body: { pointerId: filePointer, objectId, size: OBJECT_BYTES.length, envelope: 'c2VhbGVk' },
      },
      201,
    );
    const recordId = hex();
    const clash = await put(recordId, { parentVersionId: null, pointerId: filePointer });
    expect(clash.status).toBe(409);
    expectError(clash.body, 'POINTER_EXISTS');
    // Nothing was stored for the refused version.
    expect((await call({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.alice })).status).toBe(404);
  });

  it('20 concurrent writers on the same parent: exactly one wins, 19 get 409 with the winner as head', async () => {
    const recordId = hex();
    const base = await putOk(recordId, { parentVersionId: null });
    const writers = Array.from({ length: 20 }, (_, i) => ({
      body: writeBody({ parentVersionId: base.version.versionId }),
      as: i % 2 === 0 ? { token: tokens.alice2, device: devices.alice2 } : { token: tokens.bob, device: devices.bob1 },
    }));
    const results = await Promise.all(
      writers.map((w) =>
        call({ method: 'POST', path: versionsPath(recordId), token: w.as.token, device: w.as.device, body: w.body }),
      ),
    );
    const winners = results.filter((r) => r.status === 201);
    const losers = results.filter((r) => r.status === 409);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    const won = winners[0]!.body as RecordWrite;
    for (const l of losers) expect(expectError(l.body, 'RECORD_CONFLICT').details).toEqual({ head: won.version });

    const head = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.alice });
    expect(head).toEqual(won.version);
    const history = await ok<RecordHistory>({ path: versionsPath(recordId), token: tokens.alice });
    expect(history.versions).toEqual([base.version, won.version]);

    // Only the winner's pointer is in the ledger, expecting everyone but the winning device.
    const status = await ok<PointerStatus>({ path: `/v1/pointers/${won.version.pointerId}`, token: tokens.alice });
    const all = [
      `${users.alice}:${devices.alice1}`,
      `${users.alice}:${devices.alice2}`,
      `${users.bob}:${devices.bob1}`,
      `${users.dave}:${devices.dave1}`,
    ];
    const winnerKey = `${won.version.sender.identity}:${won.version.sender.deviceId}`;
    expect(sortedEndpoints(status.expected)).toEqual(all.filter((e) => e !== winnerKey));
    for (const w of writers.filter((x) => x.body.pointerId !== won.version.pointerId)) {
      expect((await call({ path: `/v1/pointers/${w.body.pointerId}`, token: tokens.alice })).status).toBe(404);
    }
  });
});

describe('history and feed', () => {
  it('history lists versions oldest first', async () => {
    const recordId = hex();
    const v1 = await putOk(recordId, { parentVersionId: null });
    const v2 = await putOk(recordId, { parentVersionId: v1.version.versionId, objectId: null, deleted: true });
    const v3 = await putOk(recordId, { parentVersionId: v2.version.versionId });
    const history = await ok<RecordHistory>({ path: versionsPath(recordId), token: tokens.dave });
    expect(history.versions).toEqual([v1.version, v2.version, v3.version]);
  });

  it(`pages over more than ${FEED_PAGE_SIZE} versions in order, with no gaps, and presigned downloads`, async () => {
    // A group of its own, so its feed holds exactly what this test writes.
    const feedGroup = hex();
    await ok(
      { method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId: feedGroup, members: [users.bob] } },
      201,
    );
    const feedObject = await upload(tokens.alice, feedGroup, OBJECT_BYTES);
    const total = FEED_PAGE_SIZE + 23;
    const written: RecordVersion[] = [];
    for (let i = 0; i < total; i += 25) {
      const batch = Array.from({ length: Math.min(25, total - i) }, (_, j) =>
        put(
          hex(),
          // Mostly tombstones (no S3 HEAD) with an object every 10th version.
          (i + j) % 10 === 0
            ? { parentVersionId: null, objectId: feedObject }
            : { parentVersionId: null, objectId: null, deleted: true },
          { token: tokens.alice, device: devices.alice1 },
          feedGroup,
        ),
      );
      for (const res of await Promise.all(batch)) {
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        written.push((res.body as RecordWrite).version);
      }
    }

    const first = await ok<FeedPage>({ path: `/v1/groups/${feedGroup}/feed/0`, token: tokens.bob });
    expect(first.entries).toHaveLength(FEED_PAGE_SIZE);
    expect(first.next).toBe(FEED_PAGE_SIZE);
    const second = await ok<FeedPage>({ path: `/v1/groups/${feedGroup}/feed/${first.next}`, token: tokens.bob });
    expect(second.entries).toHaveLength(total - FEED_PAGE_SIZE);
    expect(second.next).toBeNull();

    const entries = [...first.entries, ...second.entries];
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const bySeq = new Map(written.map((v) => [v.seq, v]));
    for (const { download, ...version } of entries) {
      expect(version).toEqual(bySeq.get(version.seq));
      expect(download === null).toBe(version.deleted);
    }
    const withObject = entries.find((e) => e.download !== null)!;
    const res = await fetch(withObject.download!.url, { headers: withObject.download!.headers });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(OBJECT_BYTES);

    const tail = await ok<FeedPage>({ path: `/v1/groups/${feedGroup}/feed/${total - 1}`, token: tokens.alice });
    expect(tail.entries.map((e) => e.seq)).toEqual([total]);
    expect(tail.next).toBeNull();
    const beyond = await ok<FeedPage>({ path: `/v1/groups/${feedGroup}/feed/${total}`, token: tokens.alice });
    expect(beyond).toEqual({ entries: [], next: null });
  });

  it('a removed member loses the feed and the records', async () => {
    const exGroup = hex();
    await ok(
      { method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId: exGroup, members: [users.dave] } },
      201,
    );
    const recordId = hex();
    await ok(
      {
        method: 'POST',
        path: versionsPath(recordId, exGroup),
        token: tokens.alice,
        device: devices.alice1,
        body: writeBody({ parentVersionId: null, objectId: null, deleted: true }),
      },
      201,
    );
    expect((await ok<FeedPage>({ path: `/v1/groups/${exGroup}/feed/0`, token: tokens.dave })).entries).toHaveLength(1);
    await ok({ method: 'DELETE', path: `/v1/groups/${exGroup}/members/${users.dave}`, token: tokens.alice }, 204);
    for (const path of [
      `/v1/groups/${exGroup}/feed/0`,
      `/v1/groups/${exGroup}/records/${recordId}`,
      versionsPath(recordId, exGroup),
    ]) {
      const res = await call({ path, token: tokens.dave });
      expect(res.status).toBe(404);
      expectError(res.body, 'GROUP_NOT_FOUND');
    }
  });
});

describe('bad input to every records route', () => {
  let recordId: string;
  let head: RecordVersion;
  let bigObjectId: string;

  beforeAll(async () => {
    recordId = hex();
    head = (await putOk(recordId, { parentVersionId: null })).version;
    bigObjectId = await upload(tokens.alice, groupId, Buffer.alloc(2 * MAX_RECORD_BYTES + 1));
  });

  const post = (body: unknown, over: Partial<Call> = {}): Call => ({
    method: 'POST',
    path: versionsPath(recordId),
    token: tokens.alice,
    device: devices.alice1,
    body,
    ...over,
  });
  const valid = () => writeBody({ parentVersionId: head.versionId });

  const cases: [string, () => Call, number, ErrorCode][] = [
    // POST .../versions
    ['write: missing auth', () => post(valid(), { token: '' }), 401, 'UNAUTHENTICATED'],
    ['write: non-member', () => post(valid(), { token: tokens.carol, device: devices.carol1 }), 404, 'GROUP_NOT_FOUND'],
    ['write: malformed device header', () => post(valid(), { device: 'x' }), 400, 'VALIDATION_FAILED'],
    ["write: another user's device in the header", () => post(valid(), { device: devices.bob1 }), 403, 'FORBIDDEN'],
    ['write: unknown group', () => post(valid(), { path: versionsPath(recordId, hex()) }), 404, 'GROUP_NOT_FOUND'],
    ['write: bad group id', () => post(valid(), { path: versionsPath(recordId, 'G1') }), 400, 'VALIDATION_FAILED'],
    ['write: bad record id', () => post(valid(), { path: versionsPath('rec-1') }), 400, 'VALIDATION_FAILED'],
    ['write: bad version id', () => post({ ...valid(), versionId: 'v1' }), 400, 'VALIDATION_FAILED'],
    ['write: bad parent id', () => post({ ...valid(), parentVersionId: 'ABC' }), 400, 'VALIDATION_FAILED'],
    ['write: missing parent', () => post({ ...valid(), parentVersionId: undefined }), 400, 'VALIDATION_FAILED'],
    ['write: bad pointer id', () => post({ ...valid(), pointerId: 7 }), 400, 'VALIDATION_FAILED'],
    ['write: deleted not boolean', () => post({ ...valid(), deleted: 'no' }), 400, 'VALIDATION_FAILED'],
    ['write: unknown field', () => post({ ...valid(), seq: 1 }), 400, 'VALIDATION_FAILED'],
    ['write: envelope not base64', () => post({ ...valid(), envelope: 'not base64!' }), 400, 'VALIDATION_FAILED'],
    ['write: empty envelope', () => post({ ...valid(), envelope: '' }), 400, 'VALIDATION_FAILED'],
    [
      'write: envelope too long',
      () => post({ ...valid(), envelope: 'A'.repeat(MAX_ENVELOPE_CHARS + 4) }),
      400,
      'VALIDATION_FAILED',
    ],
    ['write: tombstone with an object', () => post({ ...valid(), deleted: true }), 400, 'VALIDATION_FAILED'],
    ['write: content without object', () => post({ ...valid(), objectId: null }), 400, 'VALIDATION_FAILED'],
    ['write: absent object', () => post({ ...valid(), objectId: hex() }), 404, 'NOT_FOUND'],
    ["write: another group's object", () => post({ ...valid(), objectId: carolsObjectId }), 404, 'NOT_FOUND'],
    ['write: object too large', () => post({ ...valid(), objectId: bigObjectId }), 400, 'VALIDATION_FAILED'],
    ['write: malformed JSON', () => post('{"versionId":'), 400, 'VALIDATION_FAILED'],
    ['write: not JSON', () => post('x', { contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['write: body too large', () => post({ ...valid(), pad: 'x'.repeat(20_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    [
      'versions: wrong method',
      () => ({ method: 'DELETE', path: versionsPath(recordId), token: tokens.alice }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    // GET .../versions
    ['history: missing auth', () => ({ path: versionsPath(recordId) }), 401, 'UNAUTHENTICATED'],
    ['history: non-member', () => ({ path: versionsPath(recordId), token: tokens.carol }), 404, 'GROUP_NOT_FOUND'],
    ['history: unknown record', () => ({ path: versionsPath(hex()), token: tokens.bob }), 404, 'RECORD_NOT_FOUND'],
    ['history: bad record id', () => ({ path: versionsPath('x'), token: tokens.bob }), 400, 'VALIDATION_FAILED'],
    // GET .../records/:recordId
    ['head: missing auth', () => ({ path: `/v1/groups/${groupId}/records/${recordId}` }), 401, 'UNAUTHENTICATED'],
    [
      'head: non-member',
      () => ({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.carol }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'head: unknown record',
      () => ({ path: `/v1/groups/${groupId}/records/${hex()}`, token: tokens.bob }),
      404,
      'RECORD_NOT_FOUND',
    ],
    [
      'head: unknown group',
      () => ({ path: `/v1/groups/${hex()}/records/${recordId}`, token: tokens.bob }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'head: bad record id',
      () => ({ path: `/v1/groups/${groupId}/records/${recordId}x`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'head: wrong method',
      () => ({ method: 'PUT', path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    // GET .../feed/:afterSeq
    ['feed: missing auth', () => ({ path: `/v1/groups/${groupId}/feed/0` }), 401, 'UNAUTHENTICATED'],
    ['feed: non-member', () => ({ path: `/v1/groups/${groupId}/feed/0`, token: tokens.carol }), 404, 'GROUP_NOT_FOUND'],
    ['feed: unknown group', () => ({ path: `/v1/groups/${hex()}/feed/0`, token: tokens.bob }), 404, 'GROUP_NOT_FOUND'],
    [
      'feed: negative seq',
      () => ({ path: `/v1/groups/${groupId}/feed/-1`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: fractional seq',
      () => ({ path: `/v1/groups/${groupId}/feed/1.5`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: not a number',
      () => ({ path: `/v1/groups/${groupId}/feed/abc`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: beyond safe integers',
      () => ({ path: `/v1/groups/${groupId}/feed/${'9'.repeat(20)}`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: wrong method',
      () => ({ method: 'POST', path: `/v1/groups/${groupId}/feed/0`, token: tokens.bob }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
  ];

  it.each(cases.map(([name, c, status, code]) => [`${name} -> ${status} ${code}`, c, status, code] as const))(
    '%s',
    async (_title, makeCall, status, code) => {
      expect(ErrorCodes[code].status).toBe(status);
      const res = await call(makeCall());
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expectError(res.body, code);
    },
  );

  it('nothing refused above changed the record', async () => {
    const now = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.alice });
    expect(now).toEqual(head);
  });
});
