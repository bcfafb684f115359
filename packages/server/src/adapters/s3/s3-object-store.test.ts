import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from './s3-object-store.js';
import { ensureBucket } from '../../testing/s3-bucket.js';

// s3rver runs in this test process (vitest gives each file its own fork); it ignores signatures
// but enforces presigned URL expiry and stores exactly the bytes it receives.
let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let directory: string;
let endpoint: string;

const store = (bucket: string, presignTtlSeconds = 60) =>
  new S3ObjectStore({
    bucket,
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    presignTtlSeconds,
  });

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'conduit-s3-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await s3rver.run();
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await s3rver?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('S3ObjectStore', () => {
  it('presigns a size-bound PUT and a GET, and heads objects', async () => {
    const objects = store('conduit-test');
    await expect(objects.ping()).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    await ensureBucket(objects.client, 'conduit-test');
    await ensureBucket(objects.client, 'conduit-test'); // idempotent
    await objects.ping();

    const key = `objects/${randomBytes(16).toString('hex')}/${randomBytes(16).toString('hex')}`;
    const body = randomBytes(1000);
    expect(await objects.head(key)).toBeNull();

    const put = await objects.presignPut(key, body.length);
    expect(put.headers).toEqual({ 'content-length': '1000' });
    expect(new URL(put.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    expect(put.expiresAt.getTime() - Date.now()).toBeGreaterThan(55_000);
    const uploaded = await fetch(put.url, { method: 'PUT', headers: put.headers, body });
    expect(uploaded.status).toBe(200);
    expect(await objects.head(key)).toMatchObject({ size: 1000 });

    const get = await objects.presignGet(key);
    const downloaded = await fetch(get.url, { headers: get.headers });
    expect(downloaded.status).toBe(200);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(body)).toBe(true);
    objects.close();
  });

  it('presigned URLs expire', async () => {
    const objects = store('conduit-expiry', 1);
    await ensureBucket(objects.client, 'conduit-expiry');
    const put = await objects.presignPut('objects/a/b', 3);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: 'abc' });
    expect(res.status).toBe(403);
    objects.close();
  });

  it('assembles presigned, size-bound multipart parts of different sizes byte-identically', async () => {
    const objects = store('conduit-multipart');
    await ensureBucket(objects.client, 'conduit-multipart');
    const key = `objects/${randomBytes(16).toString('hex')}/${randomBytes(16).toString('hex')}`;
    const parts = [randomBytes(5 * 1024 * 1024 + 42), randomBytes(5 * 1024 * 1024), randomBytes(777)];
    const { storeUploadId } = await objects.createMultipartUpload(key);

    const etags: { partNumber: number; etag: string }[] = [];
    // Uploaded out of order, as parallel part uploads finish.
    for (const index of [2, 0, 1]) {
      const body = parts[index]!;
      const put = await objects.presignUploadPart(key, storeUploadId, index + 1, body.length);
      expect(put.headers).toEqual({ 'content-length': String(body.length) });
      const url = new URL(put.url);
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
      expect(url.searchParams.get('partNumber')).toBe(String(index + 1));
      const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body });
      expect(res.status).toBe(200);
      etags[index] = { partNumber: index + 1, etag: res.headers.get('etag') ?? '' };
    }
    await objects.completeMultipartUpload(key, storeUploadId, etags);

    const whole = Buffer.concat(parts);
    expect(await objects.head(key)).toMatchObject({ size: whole.length });
    const get = await objects.presignGet(key);
    const downloaded = Buffer.from(await (await fetch(get.url)).arrayBuffer());
    expect(downloaded.equals(whole)).toBe(true);

    await objects.deleteObject(key);
    await objects.deleteObject(key); // an absent object counts as deleted
    expect(await objects.head(key)).toBeNull();
    objects.close();
  });

  it("reports s3rver's 405 to AbortMultipartUpload as 'unsupported'", async () => {
    const objects = store('conduit-abort');
    await ensureBucket(objects.client, 'conduit-abort');
    const { storeUploadId } = await objects.createMultipartUpload('objects/a/c');
    expect(await objects.abortMultipartUpload('objects/a/c', storeUploadId)).toBe('unsupported');
    objects.close();
  });

  it('reports an unreachable endpoint as a dependency outage', async () => {
    const objects = new S3ObjectStore({
      bucket: 'x',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      accessKeyId: 'a',
      secretAccessKey: 'b',
      presignTtlSeconds: 60,
    });
    await expect(objects.head('k')).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    objects.close();
  });
});
