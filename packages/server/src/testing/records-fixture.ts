import { randomBytes } from 'node:crypto';
import type { RecordWrite } from '@conduit/shared';
import { afterAll, beforeAll, expect } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import { FakeSyncAdmin, FakeTokenIssuer, deleteKeys, randomKeyPrefix, testConfig } from './fakes.js';
import { apiCaller } from './http.js';
import { startS3rver, type LocalS3 } from './s3rver.js';

/**
 * The records route-test fixture: real Redis, real s3rver (in this process), real HTTP; only Sync
 * and the token issuers are fakes. alice (two devices) owns the group with bob and dave; carol is
 * outside it and owns a group of her own. Each group holds one uploaded object.
 */

export const PASSWORD = 'correct horse battery';
export const hex = (): string => randomBytes(16).toString('hex');
export const ENVELOPE = Buffer.from('sealed record envelope').toString('base64');
export const OBJECT_BYTES = randomBytes(37);

export const users = { alice: 'alice', bob: 'bob', carol: 'carol', dave: 'dave' };
export const devices = {
  alice1: 'alice-device-1',
  alice2: 'alice-device-2',
  bob1: 'bob-device-01',
  carol1: 'carol-device-1',
  dave1: 'dave-device-01',
};

export interface Write {
  parentVersionId: string | null;
  versionId?: string;
  pointerId?: string;
  objectId?: string | null;
  deleted?: boolean;
  envelope?: string;
}

export const sortedEndpoints = (list: { identity: string; deviceId: string }[]) =>
  list.map((e) => `${e.identity}:${e.deviceId}`).sort();

/** Starts the fixture in this file's beforeAll and stops it in its afterAll. */
export function useRecordsFixture() {
  const prefix = randomKeyPrefix();
  let local: LocalS3 | undefined;
  let server: RunningServer | undefined;
  const { call, ok, registerAll, enroll } = apiCaller(() => server!.url);
  const groupId = hex();
  const carolsGroupId = hex();
  /** Sessions, each bound to one device: alice's to alice1, alice2's to alice2, the others' to their only one. */
  const tokens = { alice: '', alice2: '', bob: '', carol: '', dave: '' };
  const objects = { objectId: '', carolsObjectId: '' };
  /** Sync is a fake: tests read the items the server wrote (the `feed` notification). */
  const syncAdmin = new FakeSyncAdmin();

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

  const writeBody = (w: Write) => ({
    versionId: w.versionId ?? hex(),
    parentVersionId: w.parentVersionId,
    pointerId: w.pointerId ?? hex(),
    objectId: w.objectId === undefined ? objects.objectId : w.objectId,
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

  beforeAll(async () => {
    local = await startS3rver('conduit-records');
    server = await startServer(testConfig(prefix, { s3: local.s3 }), {
      objectStore: local.objectStore,
      syncAdmin,
      virgilTokens: new FakeTokenIssuer('virgil'),
      syncTokens: new FakeTokenIssuer('sync'),
    });

    await registerAll(Object.values(users), PASSWORD);
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
    objects.objectId = await upload(tokens.alice, groupId, OBJECT_BYTES);
    objects.carolsObjectId = await upload(tokens.carol, carolsGroupId, randomBytes(5));
  });

  afterAll(async () => {
    await server?.close();
    await local?.close();
    await deleteKeys(prefix);
  });

  return { call, ok, tokens, groupId, objects, upload, versionsPath, writeBody, put, putOk, syncAdmin };
}
