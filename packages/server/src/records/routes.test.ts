import type { FeedPage, RecordHistory, RecordVersion, RecordWrite } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { expectError } from '../testing/http.js';
import { ENVELOPE, OBJECT_BYTES, devices, hex, useRecordsFixture, users } from '../testing/records-fixture.js';

// Single-version writes, history and membership (batches: batch-routes.test.ts; feed: feed-routes.test.ts); the fixture (real Redis and s3rver) is in testing/records-fixture.ts.
const { call, ok, tokens, groupId, objects, versionsPath, writeBody, put, putOk } = useRecordsFixture();

describe('writes and optimistic concurrency', () => {
  it('creates a record without a ledger pointer and serves it as the head', async () => {
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
      objectId: objects.objectId,
      size: OBJECT_BYTES.length,
      deleted: false,
      envelope: ENVELOPE,
      sender: { identity: users.alice, deviceId: devices.alice1 },
      pointerId: body.pointerId,
    });
    expect(write.version.seq).toBeGreaterThan(0);
    // The pointer id is only the version's idempotency id: the ack ledger knows nothing of it.
    const status = await call({ path: `/v1/pointers/${body.pointerId}`, token: tokens.bob });
    expect(status.status).toBe(404);
    expectError(status.body, 'POINTER_NOT_FOUND');

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
    expect(back.version).toMatchObject({
      deleted: false,
      objectId: objects.objectId,
      parentVersionId: gone.version.versionId,
    });
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

  it('refuses a pointer id used by another version of the group; file pointer ids are not records', async () => {
    const first = await putOk(hex(), { parentVersionId: null });
    const recordId = hex();
    const reused = await put(recordId, { parentVersionId: null, pointerId: first.version.pointerId });
    expect(reused.status).toBe(409);
    expectError(reused.body, 'POINTER_EXISTS');
    // Nothing was stored for the refused version.
    expect((await call({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.alice })).status).toBe(404);

    // Records never reach the ack ledger, so a file pointer's id does not clash with a version's.
    const filePointer = hex();
    await ok(
      {
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: tokens.alice,
        device: devices.alice1,
        body: { pointerId: filePointer, objectId: objects.objectId, size: OBJECT_BYTES.length, envelope: 'c2VhbGVk' },
      },
      201,
    );
    await putOk(hex(), { parentVersionId: null, pointerId: filePointer });
  });

  it('an inline value: a live version without an object', async () => {
    const recordId = hex();
    const inline = await putOk(recordId, { parentVersionId: null, objectId: null });
    expect(inline.version).toMatchObject({ deleted: false, objectId: null, size: 0 });
    const head = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob });
    expect(head).toEqual(inline.version);
  });

  it('20 concurrent writers on the same parent: exactly one wins, 19 get 409 with the winner as head', async () => {
    const recordId = hex();
    const base = await putOk(recordId, { parentVersionId: null });
    const writers = Array.from({ length: 20 }, (_, i) => ({
      body: writeBody({ parentVersionId: base.version.versionId, objectId: null }), // one writer's object is no other's
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

    // Nothing reached the ack ledger, the winner's pointer id included.
    for (const w of writers) {
      expect((await call({ path: `/v1/pointers/${w.body.pointerId}`, token: tokens.alice })).status).toBe(404);
    }
  });
});

describe('history and membership', () => {
  it('history lists versions oldest first', async () => {
    const recordId = hex();
    const v1 = await putOk(recordId, { parentVersionId: null });
    const v2 = await putOk(recordId, { parentVersionId: v1.version.versionId, objectId: null, deleted: true });
    const v3 = await putOk(recordId, { parentVersionId: v2.version.versionId });
    const history = await ok<RecordHistory>({ path: versionsPath(recordId), token: tokens.dave });
    expect(history.versions).toEqual([v1.version, v2.version, v3.version]);
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
