import { randomBytes } from 'node:crypto';
import { objectKeyOf } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { PART, putPart, useUploadsFixture } from '../testing/uploads-fixture.js';
import { createKeys } from '../adapters/redis/keys.js';

// Multipart uploads end to end; the fixture (real Redis and s3rver) is in testing/uploads-fixture.ts.
const fx = useUploadsFixture();
const { call, ok, prefix, groupId, asAlice, uploads, createUpload, presign, download, startedUpload } = fx;
const keys = createKeys(prefix);

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
    const storeUploadId = await fx.redis.hget(keys.upload(upload.uploadId), 'storeUploadId');
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
    expect(await fx.objectStore.head(objectKeyOf(groupId, upload.objectId))).toMatchObject({ size });
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
    const storeUploadId = (await fx.redis.hget(keys.upload(upload.uploadId), 'storeUploadId'))!;
    await fx.objectStore.completeMultipartUpload(key, storeUploadId, parts);
    await fx.restart();
    // s3rver answers the repeated complete with a 500, not NoSuchUpload.
    await expect(fx.objectStore.completeMultipartUpload(key, storeUploadId, parts)).rejects.toMatchObject({
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
    await fx.restart();

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
    expect(await fx.objectStore.head(objectKeyOf(groupId, upload.objectId))).toBeNull();
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
    expect(await fx.redis.exists(keys.upload(upload.uploadId), keys.uploadParts(upload.uploadId))).toBe(0);
    expect(await fx.redis.zscore(keys.uploadExpiry(), upload.uploadId)).toBeNull();
  });
});
