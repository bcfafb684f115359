/** The S3 stand-in's multipart path: assembled without a copy, checked and answered as S3 does. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built package: startS3 forks its dist entry.
import { startS3, type LocalS3 } from '@conduit/devstack';

const MiB = 1024 * 1024;
let dir: string;
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multipart-store-'));
  s3 = await startS3({ directory: dir });
  client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
});
afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const Bucket = () => s3.bucket;
const md5 = (data: Uint8Array) => createHash('md5').update(data).digest();

async function upload(Key: string, parts: Buffer[]): Promise<{ UploadId: string; etags: string[] }> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: Bucket(), Key }));
  const etags: string[] = [];
  for (const [i, Body] of parts.entries()) {
    const part = new UploadPartCommand({ Bucket: Bucket(), Key, UploadId, PartNumber: i + 1, Body });
    etags.push((await client.send(part)).ETag!);
  }
  return { UploadId: UploadId!, etags };
}

const complete = (Key: string, UploadId: string, parts: { PartNumber: number; ETag: string }[]) =>
  client.send(
    new CompleteMultipartUploadCommand({ Bucket: Bucket(), Key, UploadId, MultipartUpload: { Parts: parts } }),
  );

async function get(Key: string, Range?: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: Bucket(), Key, Range }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function refusal(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof S3ServiceException)) throw new Error(`expected an S3 refusal, got ${String(err)}`);
  return { name: err.name, status: err.$metadata.httpStatusCode };
}

describe('multipart store', () => {
  const parts = [randomBytes(5 * MiB + 42), randomBytes(5 * MiB), randomBytes(777)];
  const whole = Buffer.concat(parts);

  it('assembles the listed parts: GET, ranges across part boundaries, HEAD and the multipart ETag', async () => {
    const { UploadId, etags } = await upload('mp/object', parts);
    const listed = etags.map((ETag, i) => ({ PartNumber: i + 1, ETag }));
    const done = await complete('mp/object', UploadId, listed);
    const expected = `"${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);

    const head = await client.send(new HeadObjectCommand({ Bucket: Bucket(), Key: 'mp/object' }));
    expect(head.ContentLength).toBe(whole.length);
    expect(head.ETag).toBe(expected);
    expect((await get('mp/object')).equals(whole)).toBe(true);
    const edge = 5 * MiB + 42;
    for (const [start, end] of [
      [edge - 10, edge + 10],
      [0, 41],
      [edge - 1, 2 * edge],
      [whole.length - 5, whole.length - 1],
    ] as const) {
      expect((await get('mp/object', `bytes=${start}-${end}`)).equals(whole.subarray(start, end + 1))).toBe(true);
    }
    // The upload is consumed: completing it again is NoSuchUpload, as on S3.
    expect(await refusal(complete('mp/object', UploadId, listed))).toEqual({ name: 'NoSuchUpload', status: 404 });
  });

  it('refuses what S3 refuses at completion, and keeps the upload open', async () => {
    const { UploadId, etags } = await upload('mp/refused', parts);
    const [one, two, three] = etags.map((ETag, i) => ({ PartNumber: i + 1, ETag }));
    expect(await refusal(complete('mp/refused', UploadId, []))).toEqual({ name: 'MalformedXML', status: 400 });
    expect(await refusal(complete('mp/refused', UploadId, [two!, one!]))).toEqual({
      name: 'InvalidPartOrder',
      status: 400,
    });
    expect(await refusal(complete('mp/refused', UploadId, [{ ...one!, ETag: etags[1]! }]))).toEqual({
      name: 'InvalidPart',
      status: 400,
    });
    expect(await refusal(complete('mp/refused', UploadId, [one!, { PartNumber: 4, ETag: etags[0]! }]))).toEqual({
      name: 'InvalidPart',
      status: 400,
    });
    expect(await refusal(complete('mp/refused', UploadId, [three!, { PartNumber: 4, ETag: etags[0]! }]))).toEqual({
      name: 'InvalidPart',
      status: 400,
    });
    // Part 3 (777 bytes) may only be last.
    const small = await upload('mp/small', [parts[2]!, parts[0]!]);
    expect(
      await refusal(
        complete('mp/small', small.UploadId, [
          { PartNumber: 1, ETag: small.etags[0]! },
          { PartNumber: 2, ETag: small.etags[1]! },
        ]),
      ),
    ).toEqual({ name: 'EntityTooSmall', status: 400 });
    // Still open: the right list completes it (part 2 unlisted, so dropped).
    await complete('mp/refused', UploadId, [one!, three!]);
    expect((await get('mp/refused')).equals(Buffer.concat([parts[0]!, parts[2]!]))).toBe(true);
  });

  it('refuses parts of an unknown upload', async () => {
    const part = new UploadPartCommand({
      Bucket: Bucket(),
      Key: 'mp/none',
      UploadId: 'no-such-upload',
      PartNumber: 1,
      Body: Buffer.from('x'),
    });
    expect(await refusal(client.send(part))).toEqual({ name: 'NoSuchUpload', status: 404 });
    const unknown = new UploadPartCommand({
      Bucket: Bucket(),
      Key: 'mp/none',
      UploadId: '0'.repeat(32),
      PartNumber: 1,
      Body: Buffer.from('x'),
    });
    expect(await refusal(client.send(unknown))).toEqual({ name: 'NoSuchUpload', status: 404 });
  });

  it('overwrites, copies and deletes an assembled object', async () => {
    const { UploadId, etags } = await upload('mp/life', parts);
    await complete(
      'mp/life',
      UploadId,
      etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })),
    );
    await client.send(new CopyObjectCommand({ Bucket: Bucket(), Key: 'mp/copy', CopySource: `${Bucket()}/mp/life` }));
    expect((await get('mp/copy')).equals(whole)).toBe(true);

    const small = Buffer.from('replaced');
    await client.send(new PutObjectCommand({ Bucket: Bucket(), Key: 'mp/life', Body: small }));
    expect((await get('mp/life')).equals(small)).toBe(true);
    expect((await get('mp/copy')).equals(whole)).toBe(true);

    await client.send(new DeleteObjectCommand({ Bucket: Bucket(), Key: 'mp/copy' }));
    expect(await refusal(get('mp/copy'))).toEqual({ name: 'NoSuchKey', status: 404 });
  });
});
