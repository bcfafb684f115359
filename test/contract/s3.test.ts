import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startS3, type LocalS3 } from '@conduit/devstack';

// Contract: the unmodified AWS SDK v3 (client + presigner) works against the local S3 server with the
// settings docs/configuration.md documents, including presigned PUT/GET through plain fetch.
describe('local S3 (s3rver) with @aws-sdk/client-s3', () => {
  let dir: string;
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-s3-'));
    s3 = await startS3({ directory: dir });
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, heads, reads and range-reads an object byte-identically', async () => {
    const body = randomBytes(300_000);
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'objects/a/b', Body: body }));
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'objects/a/b' }));
    expect(head.ContentLength).toBe(body.length);
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'objects/a/b' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    const range = await client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: 'objects/a/b', Range: 'bytes=1000-1999' }),
    );
    expect(Buffer.from(await range.Body!.transformToByteArray()).equals(body.subarray(1000, 2000))).toBe(true);
  });

  it('accepts a presigned PUT and serves a presigned GET through plain fetch', async () => {
    const body = randomBytes(64 * 1024);
    const put = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: s3.bucket, Key: 'objects/p/q', ContentLength: body.length }),
      { expiresIn: 60 },
    );
    const putRes = await fetch(put, { method: 'PUT', body });
    expect(putRes.status).toBe(200);
    const get = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: 'objects/p/q' }), {
      expiresIn: 60,
    });
    const getRes = await fetch(get);
    expect(getRes.status).toBe(200);
    expect(Buffer.from(await getRes.arrayBuffer()).equals(body)).toBe(true);
  });

  it('refuses an expired presigned URL', async () => {
    const signed = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: 'objects/p/q' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 10_000),
    });
    const res = await fetch(signed);
    expect(res.status).toBe(403);
    await res.body?.cancel();
  });

  it('answers 404 for a missing object', async () => {
    await expect(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'objects/none' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
