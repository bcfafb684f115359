import { randomBytes } from 'node:crypto';
import { MIN_PART_BYTES } from '@conduit/shared';
import type { MultipartUpload, PresignedParts } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import { FakeSyncAdmin, FakeTokenIssuer, TEST_REDIS_URL, deleteKeys, randomKeyPrefix, testConfig } from './fakes.js';
import { apiCaller } from './http.js';
import { startS3rver, type LocalS3 } from './s3rver.js';

/**
 * The multipart-upload route-test fixture: real Redis, real s3rver (in this process), real HTTP;
 * only Sync and the token issuers are fakes. alice owns a group with bob and a group of her own;
 * carol is outside both. alice's first device owns the uploads the helpers make.
 */

export const PASSWORD = 'correct horse battery';
export const hex = (): string => randomBytes(16).toString('hex');
export const PART = MIN_PART_BYTES;

export const users = { alice: 'alice', bob: 'bob', carol: 'carol' };
export const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  carol1: 'carol-device-1',
};

/** PUTs a part straight to s3rver with its presigned URL; returns the ETag S3 answered. */
export async function putPart(url: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', headers, body });
  expect(res.status).toBe(200);
  return res.headers.get('etag') ?? '';
}

/** Starts the fixture in this file's beforeAll and stops it in its afterAll. */
export function useUploadsFixture() {
  const prefix = randomKeyPrefix();
  let local: LocalS3 | undefined;
  let redis: Redis | undefined;
  let server: RunningServer | undefined;
  let restartServer: (() => Promise<void>) | undefined;
  const { call, ok, registerAll, enroll } = apiCaller(() => server!.url);
  const groupId = hex();
  const otherGroupId = hex();
  /** Sessions, each bound to one device: alice's to alice1, alice2's to alice2, the others' to their only one. */
  const tokens = { alice: '', alice2: '', bob: '', carol: '' };
  /** Alice's first device, the endpoint that owns the uploads below. */
  const asAlice = { token: '', device: devices.alice1 };
  const uploads = (g = groupId) => `/v1/groups/${g}/uploads`;

  async function createUpload(size: number): Promise<MultipartUpload> {
    return ok<MultipartUpload>({ method: 'POST', path: uploads(), ...asAlice, body: { size } }, 201);
  }

  async function presign(uploadId: string, parts: { partNumber: number; size: number }[]): Promise<PresignedParts> {
    return ok<PresignedParts>({ method: 'POST', path: `${uploads()}/${uploadId}/parts`, ...asAlice, body: { parts } });
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
    local = await startS3rver('conduit-uploads');
    redis = new Redis(TEST_REDIS_URL);
    const config = testConfig(prefix, { s3: local.s3 });
    const deps = {
      objectStore: local.objectStore,
      syncAdmin: new FakeSyncAdmin(),
      virgilTokens: new FakeTokenIssuer('virgil'),
      syncTokens: new FakeTokenIssuer('sync'),
    };
    server = await startServer(config, deps);
    restartServer = async () => {
      await server!.close();
      server = await startServer(config, deps);
    };

    await registerAll(Object.values(users), PASSWORD);
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
    await redis?.quit();
    await local?.close();
    await deleteKeys(prefix);
  });

  return {
    call,
    ok,
    prefix,
    tokens,
    asAlice,
    groupId,
    otherGroupId,
    uploads,
    createUpload,
    presign,
    download,
    startedUpload,
    /** Set once beforeAll has run. */
    get redis(): Redis {
      return redis!;
    },
    get objectStore() {
      return local!.objectStore;
    },
    /** Closes the API and starts it again on the same Redis and store (its state lives there). */
    restart: () => restartServer!(),
  };
}
