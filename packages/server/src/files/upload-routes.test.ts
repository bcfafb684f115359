import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PART_BYTES, MAX_PARTS_PER_REQUEST, MIN_PART_BYTES, objectKeyOf } from '@conduit/shared';
import type { ErrorCode, MultipartUpload, PresignedParts } from '@conduit/shared';
import { Redis } from 'ioredis';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import { startServer, type RunningServer } from '../server.js';
import {
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../testing/fakes.js';
import { apiCaller, type Call } from '../testing/http.js';

// Real Redis, real s3rver (in this process), real HTTP; only Sync and the token issuers are fakes.
const prefix = randomKeyPrefix();
const hex = () => randomBytes(16).toString('hex');
const PASSWORD = 'correct horse battery';
const PART = MIN_PART_BYTES;

let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let directory: string;
let objectStore: S3ObjectStore;
let redis: Redis;
let server: RunningServer;
const { call, ok, enroll } = apiCaller(() => server.url);
let config: ReturnType<typeof testConfig>;
let deps: Parameters<typeof startServer>[1];

const users = { alice: 'alice', bob: 'bob', carol: 'carol' };
const devices = { alice1: 'alice-device-1', alice2: 'alice-device-2', bob1: 'bob-device-01', carol1: 'carol-device-1' };
/** Sessions, each bound to one device: alice's to alice1, alice2's to alice2, the others' to their only one. */
const tokens = { alice: '', alice2: '', bob: '', carol: '' };
const groupId = hex();
const otherGroupId = hex();

/** Alice's first device, the endpoint that owns the uploads below. */
const asAlice = { token: '', device: devices.alice1 };
const uploads = (g = groupId) => `/v1/groups/${g}/uploads`;

async function createUpload(size: number): Promise<MultipartUpload> {
  return ok<MultipartUpload>({ method: 'POST', path: uploads(), ...asAlice, body: { size } }, 201);
}

async function presign(uploadId: string, parts: { partNumber: number; size: number }[]): Promise<PresignedParts> {
  return ok<PresignedParts>({ method: 'POST', path: `${uploads()}/${uploadId}/parts`, ...asAlice, body: { parts } });
}

/** PUTs a part straight to s3rver with its presigned URL; returns the ETag S3 answered. */
async function putPart(url: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', headers, body });
  expect(res.status).toBe(200);
  return res.headers.get('etag') ?? '';
}

async function download(objectId: string): Promise<Buffer> {
  const get = await ok<{ url: string }>({ path: `/v1/groups/${groupId}/objects/${objectId}`, token: tokens.alice });
  return Buffer.from(await (await fetch(get.url)).arrayBuffer());
}

/** An open upload with parts [PART + 42, 1000] presigned and part 1 uploaded. */
async function startedUpload(): Promise<{ upload: MultipartUpload; bytes: Buffer[]; etag1: string }> {
  const bytes = [randomBytes(PART + 42), randomBytes(1000)];
  const upload = await createUpload(PART + 42 + 1000);
  const signed = await presign(upload.uploadId, [{ partNumber: 1, size: bytes[0]!.length }]);
  const etag1 = await putPart(signed.parts[0]!.url, signed.parts[0]!.headers, bytes[0]!);
  return { upload, bytes, etag1 };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'conduit-uploads-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await s3rver.run();
  const s3 = {
    bucket: 'conduit-uploads',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    presignTtlSeconds: 300,
  };
  objectStore = new S3ObjectStore(s3);
  await objectStore.ensureBucket();
  redis = new Redis(TEST_REDIS_URL);
  config = testConfig(prefix, { s3 });
  deps = {
    objectStore,
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  };
  server = await startServer(config, deps);

  for (const identity of Object.values(users)) {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password: PASSWORD } }, 201);
  }
  tokens.alice = await enroll(users.alice, PASSWORD, devices.alice1);
  tokens.alice2 = await enroll(users.alice, PASSWORD, devices.alice2);
  tokens.bob = await enroll(users.bob, PASSWORD, devices.bob1);
  tokens.carol = await enroll(users.carol, PASSWORD, devices.carol1);
  asAlice.token = tokens.alice;
  await ok({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: [users.bob] } }, 201);
  await ok(
    { method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId: otherGroupId, members: [] } },
    201,
  );
});

afterAll(async () => {
  await server?.close();
  objectStore?.close();
  await redis?.quit();
  await s3rver?.close();
  await deleteKeys(prefix);
  await rm(directory, { recursive: true, force: true });
});

describe('multipart uploads', () => {
  it('create -> presign parts of different sizes -> PUT -> complete: the object is the bytes', async () => {
    const bytes = [randomBytes(PART + 42), randomBytes(PART), randomBytes(12_345)];
    const size = bytes.reduce((n, b) => n + b.length, 0);
    const upload = await createUpload(size);
    expect(upload.size).toBe(size);
    const hours = (Date.parse(upload.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    expect(await ok({ path: `${uploads()}/${upload.uploadId}`, ...asAlice })).toEqual(upload);

    const signed = await presign(
      upload.uploadId,
      bytes.map((b, i) => ({ partNumber: i + 1, size: b.length })),
    );
    expect(signed.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    // The store's own upload id stays on the server.
    const storeUploadId = await redis.hget(`${prefix}upl:${upload.uploadId}`, 'storeUploadId');
    expect(storeUploadId).toBeTruthy();
    expect(JSON.stringify(upload)).not.toContain(storeUploadId);

    const etags = await Promise.all(signed.parts.map((p, i) => putPart(p.url, p.headers, bytes[i]!)));
    const completed = await ok({
      method: 'POST',
      path: `${uploads()}/${upload.uploadId}/complete`,
      ...asAlice,
      body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) },
    });
    expect(completed).toEqual({ objectId: upload.objectId, size });
    expect((await download(upload.objectId)).equals(Buffer.concat(bytes))).toBe(true);

    // Gone for resuming; a retried complete (answer lost) gets the same answer.
    const gone = await call({ path: `${uploads()}/${upload.uploadId}`, ...asAlice });
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'No such upload.' } } });
    expect(
      await ok({
        method: 'POST',
        path: `${uploads()}/${upload.uploadId}/complete`,
        ...asAlice,
        body: { parts: [{ partNumber: 1, etag: 'x' }] },
      }),
    ).toEqual(completed);
    // Aborting a completed upload leaves the object alone.
    await ok({ method: 'DELETE', path: `${uploads()}/${upload.uploadId}`, ...asAlice }, 204);
    expect(await objectStore.head(objectKeyOf(groupId, upload.objectId))).toMatchObject({ size });
  });

  it('completes an upload S3 assembled just before the API died, whatever S3 answers the repeat', async () => {
    const { upload, bytes, etag1 } = await startedUpload();
    const second = await presign(upload.uploadId, [{ partNumber: 2, size: bytes[1]!.length }]);
    const etag2 = await putPart(second.parts[0]!.url, second.parts[0]!.headers, bytes[1]!);
    const parts = [
      { partNumber: 1, etag: etag1 },
      { partNumber: 2, etag: etag2 },
    ];
    // The crash: S3 assembled the object, the API died before recording it.
    const key = objectKeyOf(groupId, upload.objectId);
    const storeUploadId = (await redis.hget(`${prefix}upl:${upload.uploadId}`, 'storeUploadId'))!;
    await objectStore.completeMultipartUpload(key, storeUploadId, parts);
    await server.close();
    server = await startServer(config, deps);
    // s3rver answers the repeated complete with a 500, not NoSuchUpload.
    await expect(objectStore.completeMultipartUpload(key, storeUploadId, parts)).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    });

    // The resumed send completes it.
    const path = `${uploads()}/${upload.uploadId}/complete`;
    const done = await ok({ method: 'POST', path, ...asAlice, body: { parts } });
    expect(done).toEqual({ objectId: upload.objectId, size: upload.size });
    expect(await ok({ method: 'POST', path, ...asAlice, body: { parts } })).toEqual(done);
    expect((await download(upload.objectId)).equals(Buffer.concat(bytes))).toBe(true);
  });

  it('resumes after a restart: the upload is still there and parts can be re-presigned', async () => {
    const { upload, bytes, etag1 } = await startedUpload();
    // The server restarts (state in Redis), the client restarts and knows only the upload id.
    await server.close();
    server = await startServer(config, deps);

    expect(await ok({ path: `${uploads()}/${upload.uploadId}`, ...asAlice })).toEqual(upload);
    const again = await presign(upload.uploadId, [
      { partNumber: 1, size: bytes[0]!.length },
      { partNumber: 2, size: bytes[1]!.length },
    ]);
    const etag2 = await putPart(again.parts[1]!.url, again.parts[1]!.headers, bytes[1]!);
    const done = await ok({
      method: 'POST',
      path: `${uploads()}/${upload.uploadId}/complete`,
      ...asAlice,
      body: {
        parts: [
          { partNumber: 1, etag: etag1 },
          { partNumber: 2, etag: etag2 },
        ],
      },
    });
    expect(done).toEqual({ objectId: upload.objectId, size: upload.size });
    expect((await download(upload.objectId)).equals(Buffer.concat(bytes))).toBe(true);
  });

  it('deletes an assembled object whose size differs from the declared one', async () => {
    const part1 = randomBytes(PART);
    const upload = await createUpload(PART + 500);
    const first = await presign(upload.uploadId, [
      { partNumber: 1, size: PART },
      { partNumber: 2, size: 400 },
    ]);
    const etag1 = await putPart(first.parts[0]!.url, first.parts[0]!.headers, part1);
    const etag2 = await putPart(first.parts[1]!.url, first.parts[1]!.headers, randomBytes(400));
    // Re-presigned at the right size, but the 400-byte part is what S3 holds.
    await presign(upload.uploadId, [{ partNumber: 2, size: 500 }]);

    const res = await call({
      method: 'POST',
      path: `${uploads()}/${upload.uploadId}/complete`,
      ...asAlice,
      body: {
        parts: [
          { partNumber: 1, etag: etag1 },
          { partNumber: 2, etag: etag2 },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/deleted/) } });
    expect(await objectStore.head(objectKeyOf(groupId, upload.objectId))).toBeNull();
    expect((await call({ path: `${uploads()}/${upload.uploadId}`, ...asAlice })).status).toBe(404);
  });

  it('aborts idempotently', async () => {
    const { upload } = await startedUpload();
    const path = `${uploads()}/${upload.uploadId}`;
    await ok({ method: 'DELETE', path, ...asAlice }, 204);
    await ok({ method: 'DELETE', path, ...asAlice }, 204);
    expect((await call({ path, ...asAlice })).status).toBe(404);
    const parts = await call({
      method: 'POST',
      path: `${path}/parts`,
      ...asAlice,
      body: { parts: [{ partNumber: 1, size: 1 }] },
    });
    expect(parts.status).toBe(404);
    expect(await redis.exists(`${prefix}upl:${upload.uploadId}`, `${prefix}upl:${upload.uploadId}:parts`)).toBe(0);
    expect(await redis.zscore(`${prefix}uploads:expiry`, upload.uploadId)).toBeNull();
  });
});

describe('multipart upload input is refused with typed errors', () => {
  let upload: MultipartUpload;
  let etag1: string;

  beforeAll(async () => {
    ({ upload, etag1 } = await startedUpload());
  });

  type Case = [name: string, call: () => Call, status: number, code: ErrorCode];
  const at = (suffix = '') => `${uploads()}/${upload.uploadId}${suffix}`;
  const body = (parts: unknown) => ({ parts });
  const complete = (parts: unknown): Call => ({ method: 'POST', path: at('/complete'), ...asAlice, body: body(parts) });
  const presignCall = (parts: unknown): Call => ({ method: 'POST', path: at('/parts'), ...asAlice, body: body(parts) });

  const cases: Case[] = [
    // POST /uploads
    ['create: no auth', () => ({ method: 'POST', path: uploads(), body: { size: 1 } }), 401, 'UNAUTHENTICATED'],
    [
      'create: bad group id',
      () => ({ method: 'POST', path: uploads('XYZ'), ...asAlice, body: { size: 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: unknown group',
      () => ({ method: 'POST', path: uploads(hex()), ...asAlice, body: { size: 1 } }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'create: non-member',
      () => ({ method: 'POST', path: uploads(), token: tokens.carol, device: devices.carol1, body: { size: 1 } }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'create: malformed device header',
      () => ({ method: 'POST', path: uploads(), token: tokens.alice, device: 'x', body: { size: 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: device of another identity in the header',
      () => ({ method: 'POST', path: uploads(), token: tokens.alice, device: devices.bob1, body: { size: 1 } }),
      403,
      'FORBIDDEN',
    ],
    [
      'create: size 0',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 0 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: size over 5 TiB',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 5 * 1024 ** 4 + 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: extra field',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 1, key: 'k' } }),
      400,
      'VALIDATION_FAILED',
    ],
    ['create: wrong method', () => ({ method: 'PUT', path: uploads(), ...asAlice }), 405, 'METHOD_NOT_ALLOWED'],
    // GET /uploads/:uploadId
    [
      'get: bad upload id',
      () => ({ path: `${uploads()}/${upload.uploadId.toUpperCase()}`, ...asAlice }),
      400,
      'VALIDATION_FAILED',
    ],
    ['get: unknown upload', () => ({ path: `${uploads()}/${hex()}`, ...asAlice }), 404, 'NOT_FOUND'],
    [
      'get: upload of another group',
      () => ({ path: `${uploads(otherGroupId)}/${upload.uploadId}`, ...asAlice }),
      404,
      'NOT_FOUND',
    ],
    ['get: another member', () => ({ path: at(), token: tokens.bob, device: devices.bob1 }), 403, 'FORBIDDEN'],
    [
      'get: same identity, other device',
      () => ({ path: at(), token: tokens.alice2, device: devices.alice2 }),
      403,
      'FORBIDDEN',
    ],
    ['get: non-member', () => ({ path: at(), token: tokens.carol, device: devices.carol1 }), 404, 'GROUP_NOT_FOUND'],
    // POST /uploads/:uploadId/parts
    [
      'parts: part over 5 GiB',
      () => presignCall([{ partNumber: 2, size: MAX_PART_BYTES + 1 }]),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'parts: too many per request',
      () => presignCall(Array.from({ length: MAX_PARTS_PER_REQUEST + 1 }, (_, i) => ({ partNumber: i + 1, size: 1 }))),
      400,
      'VALIDATION_FAILED',
    ],
    ['parts: none', () => presignCall([]), 400, 'VALIDATION_FAILED'],
    ['parts: part number 0', () => presignCall([{ partNumber: 0, size: 1 }]), 400, 'VALIDATION_FAILED'],
    ['parts: part number 10001', () => presignCall([{ partNumber: 10_001, size: 1 }]), 400, 'VALIDATION_FAILED'],
    ['parts: size 0', () => presignCall([{ partNumber: 2, size: 0 }]), 400, 'VALIDATION_FAILED'],
    [
      'parts: duplicate part numbers',
      () =>
        presignCall([
          { partNumber: 2, size: 1 },
          { partNumber: 2, size: 1 },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    // Part 1 already holds PART + 42 of PART + 1042 bytes.
    ['parts: sum over the size', () => presignCall([{ partNumber: 2, size: 1001 }]), 400, 'VALIDATION_FAILED'],
    ['parts: one part over the size', () => presignCall([{ partNumber: 3, size: PART * 2 }]), 400, 'VALIDATION_FAILED'],
    [
      'parts: another member',
      () => ({ ...presignCall([{ partNumber: 2, size: 1 }]), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'parts: unknown upload',
      () => ({ ...presignCall([{ partNumber: 2, size: 1 }]), path: `${uploads()}/${hex()}/parts` }),
      404,
      'NOT_FOUND',
    ],
    ['parts: not JSON', () => ({ ...presignCall([]), body: '{' }), 400, 'VALIDATION_FAILED'],
    // POST /uploads/:uploadId/complete
    [
      'complete: a part never presigned',
      () =>
        complete([
          { partNumber: 1, etag: 'a' },
          { partNumber: 2, etag: 'b' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    ['complete: missing the last part', () => complete([{ partNumber: 1, etag: 'a' }]), 400, 'VALIDATION_FAILED'],
    [
      'complete: descending',
      () =>
        complete([
          { partNumber: 2, etag: 'b' },
          { partNumber: 1, etag: 'a' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'complete: duplicate',
      () =>
        complete([
          { partNumber: 1, etag: 'a' },
          { partNumber: 1, etag: 'a' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    ['complete: empty etag', () => complete([{ partNumber: 1, etag: '' }]), 400, 'VALIDATION_FAILED'],
    ['complete: no parts', () => complete([]), 400, 'VALIDATION_FAILED'],
    [
      'complete: another member',
      () => ({ ...complete([{ partNumber: 1, etag: 'a' }]), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'complete: unknown upload',
      () => ({ ...complete([{ partNumber: 1, etag: 'a' }]), path: `${uploads()}/${hex()}/complete` }),
      404,
      'NOT_FOUND',
    ],
    ['complete: wrong method', () => ({ path: at('/complete'), ...asAlice }), 405, 'METHOD_NOT_ALLOWED'],
    // DELETE /uploads/:uploadId
    [
      'abort: another member',
      () => ({ method: 'DELETE', path: at(), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'abort: other device',
      () => ({ method: 'DELETE', path: at(), token: tokens.alice2, device: devices.alice2 }),
      403,
      'FORBIDDEN',
    ],
    [
      'abort: non-member',
      () => ({ method: 'DELETE', path: at(), token: tokens.carol, device: devices.carol1 }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'abort: bad upload id',
      () => ({ method: 'DELETE', path: `${uploads()}/nope`, ...asAlice }),
      400,
      'VALIDATION_FAILED',
    ],
  ];

  it.each(cases)('%s', async (_name, make, status, code) => {
    const res = await call(make());
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ error: { code } });
  });

  it('a small part before the last is refused before S3 sees it', async () => {
    const small = await createUpload(2000);
    await presign(small.uploadId, [
      { partNumber: 1, size: 1000 },
      { partNumber: 2, size: 1000 },
    ]);
    const res = await call({
      method: 'POST',
      path: `${uploads()}/${small.uploadId}/complete`,
      ...asAlice,
      body: {
        parts: [
          { partNumber: 1, etag: 'a' },
          { partNumber: 2, etag: 'b' },
        ],
      },
    });
    expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { partNumbers: [1] } } });
  });

  it('none of the refusals changed the upload: it still completes', async () => {
    const part2 = randomBytes(1000);
    const signed = await presign(upload.uploadId, [{ partNumber: 2, size: 1000 }]);
    const etag2 = await putPart(signed.parts[0]!.url, signed.parts[0]!.headers, part2);
    const done = await ok(
      complete([
        { partNumber: 1, etag: etag1 },
        { partNumber: 2, etag: etag2 },
      ]),
    );
    expect(done).toEqual({ objectId: upload.objectId, size: upload.size });
  });

  it('an unknown upload aborts as a no-op', async () => {
    await ok({ method: 'DELETE', path: `${uploads()}/${hex()}`, ...asAlice }, 204);
  });
});
