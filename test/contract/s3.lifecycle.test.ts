import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { DEPLOY_LIFECYCLE_FILE, startS3, type LocalS3 } from '@conduit/devstack';

/** The S3 error a send ends with: its code and HTTP status. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof S3ServiceException) return { code: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('the request was accepted');
}

// Contract: the unmodified AWS SDK v3 against the devstack S3 for what the data lifecycle needs
// (docs/devstack.md): aborting and listing multipart uploads, DeleteObjects with S3's limits, bucket
// lifecycle rules with S3's validation. Each refusal is S3's code and status.
describe('devstack S3 lifecycle operations with @aws-sdk/client-s3', () => {
  let dir: string;
  let s3: LocalS3;
  let client: S3Client;
  /** Headers of the last DeleteObjects request the SDK sent. */
  let deleteHeaders: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-s3-lifecycle-'));
    s3 = await startS3({ directory: dir });
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand') {
          deleteHeaders = { ...(args.request as { headers: Record<string, string> }).headers };
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureDeleteHeaders', priority: 'low' },
    );
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const bucket = () => s3.bucket;
  const create = async (key: string) =>
    (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket(), Key: key }))).UploadId!;

  describe('multipart uploads', () => {
    it('aborts an upload: its parts are gone and the upload is NoSuchUpload afterwards', async () => {
      const key = 'objects/g/abort-me';
      const uploadId = await create(key);
      await client.send(
        new UploadPartCommand({
          Bucket: bucket(),
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1024),
        }),
      );
      const aborted = await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket(), Key: key, UploadId: uploadId }),
      );
      expect(aborted.$metadata.httpStatusCode).toBe(204);

      const again = refusal(
        client.send(new AbortMultipartUploadCommand({ Bucket: bucket(), Key: key, UploadId: uploadId })),
      );
      expect(await again).toEqual({ code: 'NoSuchUpload', status: 404 });
      const part = client.send(
        new UploadPartCommand({
          Bucket: bucket(),
          Key: key,
          UploadId: uploadId,
          PartNumber: 2,
          Body: Buffer.alloc(10),
        }),
      );
      expect(await refusal(part)).toEqual({ code: 'NoSuchUpload', status: 404 });
      const complete = client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket(),
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: 'x' }] },
        }),
      );
      expect(await refusal(complete)).toEqual({ code: 'NoSuchUpload', status: 404 });
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: key }));
      expect(listed.Uploads ?? []).toEqual([]);
      expect(await refusal(client.send(new HeadObjectCommand({ Bucket: bucket(), Key: key })))).toMatchObject({
        status: 404,
      });
    });

    it('refuses an abort naming another key of the upload, or an id it never made', async () => {
      const uploadId = await create('objects/g/keep-me');
      const wrongKey = client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket(), Key: 'objects/g/other', UploadId: uploadId }),
      );
      expect(await refusal(wrongKey)).toEqual({ code: 'NoSuchUpload', status: 404 });
      const made = client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket(), Key: 'objects/g/keep-me', UploadId: '../../etc' }),
      );
      expect(await refusal(made)).toEqual({ code: 'NoSuchUpload', status: 404 });
      const listed = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: 'objects/g/keep-me' }),
      );
      expect(listed.Uploads?.map((u) => u.UploadId)).toEqual([uploadId]);
    });

    it('lists uploads under a prefix in key order, page by page through the markers', async () => {
      const prefix = 'objects/list/';
      const made: { key: string; id: string }[] = [];
      for (const key of ['c', 'a', 'b', 'a', 'd']) made.push({ key: prefix + key, id: await create(prefix + key) });
      await create('elsewhere/x');
      const before = Date.now();

      const seen: { key: string; id: string; initiated: Date }[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await client.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket(),
            Prefix: prefix,
            MaxUploads: 2,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        pages += 1;
        expect(page.Uploads!.length).toBeLessThanOrEqual(2);
        seen.push(...page.Uploads!.map((u) => ({ key: u.Key!, id: u.UploadId!, initiated: u.Initiated! })));
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
      expect(pages).toBe(3);
      expect(seen.map((u) => u.key)).toEqual(['a', 'a', 'b', 'c', 'd'].map((k) => prefix + k));
      // The two uploads of one key in initiation order.
      expect(seen.filter((u) => u.key === `${prefix}a`).map((u) => u.id)).toEqual(
        made.filter((u) => u.key === `${prefix}a`).map((u) => u.id),
      );
      for (const u of seen) expect(u.initiated.getTime()).toBeLessThanOrEqual(before + 1000);

      const capped = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket(), MaxUploads: 5000 }));
      expect(capped.MaxUploads).toBe(1000);
      const onlyKeyMarker = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: prefix, KeyMarker: `${prefix}b` }),
      );
      expect(onlyKeyMarker.Uploads!.map((u) => u.Key)).toEqual([`${prefix}c`, `${prefix}d`]);
    });
  });

  describe('DeleteObjects', () => {
    it('deletes with the checksum the SDK sends when required; absent keys count as deleted', async () => {
      await client.send(new PutObjectCommand({ Bucket: bucket(), Key: 'objects/del/1', Body: 'one' }));
      const out = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket(),
          Delete: { Objects: [{ Key: 'objects/del/1' }, { Key: 'objects/del/never' }] },
        }),
      );
      expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(['objects/del/1', 'objects/del/never']);
      // requestChecksumCalculation WHEN_REQUIRED still sends one: DeleteObjects is httpChecksumRequired.
      expect(Object.keys(deleteHeaders).filter((h) => /^(content-md5|x-amz-checksum-)/i.test(h))).not.toEqual([]);
      expect(
        await refusal(client.send(new HeadObjectCommand({ Bucket: bucket(), Key: 'objects/del/1' }))),
      ).toMatchObject({ status: 404 });

      const quiet = await client.send(
        new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: [{ Key: 'objects/del/x' }], Quiet: true } }),
      );
      expect(quiet.Deleted ?? []).toEqual([]);
      expect(quiet.Errors ?? []).toEqual([]);
    });

    it('refuses more than 1,000 keys with MalformedXML', async () => {
      const objects = Array.from({ length: 1001 }, (_, i) => ({ Key: `objects/many/${i}` }));
      const sent = client.send(new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: objects } }));
      expect(await refusal(sent)).toEqual({ code: 'MalformedXML', status: 400 });
    });

    it('refuses a request without Content-MD5 or x-amz-checksum-*, and a wrong digest', async () => {
      const body = '<Delete><Object><Key>objects/del/raw</Key></Object></Delete>';
      const url = `${s3.endpoint}/${bucket()}?delete`;
      const bare = await fetch(url, { method: 'POST', body });
      expect(bare.status).toBe(400);
      expect(await bare.text()).toContain('<Code>InvalidRequest</Code>');
      const wrong = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-md5': createHash('md5').update('x').digest('base64') },
      });
      expect(wrong.status).toBe(400);
      expect(await wrong.text()).toContain('<Code>BadDigest</Code>');
      const right = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-md5': createHash('md5').update(body).digest('base64') },
      });
      expect(right.status).toBe(200);
    });
  });

  describe('bucket lifecycle configuration', () => {
    const put = (Rules: LifecycleRule[]) =>
      client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket(), LifecycleConfiguration: { Rules } }));
    const abortRule = (over: Partial<LifecycleRule> = {}): LifecycleRule => ({
      ID: 'abort',
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      ...over,
    });

    it('starts with deploy/s3/lifecycle.json applied, which parses and is accepted as written', async () => {
      const file = JSON.parse(await readFile(DEPLOY_LIFECYCLE_FILE, 'utf8')) as { Rules: LifecycleRule[] };
      const got = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket() }));
      expect(got.Rules).toEqual(file.Rules);
      expect(
        got.Rules!.some((r) => r.Status === 'Enabled' && r.AbortIncompleteMultipartUpload?.DaysAfterInitiation),
      ).toBe(true);
      // Nothing in it expires objects: retention is Conduit's, with receipts (docs/lifecycle.md).
      expect(got.Rules!.every((r) => !r.Expiration && !r.NoncurrentVersionExpiration)).toBe(true);
      await put(file.Rules);
    });

    it('replaces, reads back and deletes the rules; none is NoSuchLifecycleConfiguration', async () => {
      await put([abortRule({ ID: 'a' }), abortRule({ ID: 'b', Filter: { Prefix: 'objects/' }, Status: 'Disabled' })]);
      const got = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket() }));
      expect(got.Rules!.map((r) => [r.ID, r.Status, r.Filter?.Prefix])).toEqual([
        ['a', 'Enabled', ''],
        ['b', 'Disabled', 'objects/'],
      ]);
      await client.send(new DeleteBucketLifecycleCommand({ Bucket: bucket() }));
      const none = client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket() }));
      expect(await refusal(none)).toEqual({ code: 'NoSuchLifecycleConfiguration', status: 404 });
    });

    it.each<[string, LifecycleRule[], string]>([
      ['more than 1,000 rules', Array.from({ length: 1001 }, (_, i) => abortRule({ ID: `r${i}` })), 'MalformedXML'],
      ['a repeated ID', [abortRule({ ID: 'same' }), abortRule({ ID: 'same' })], 'InvalidArgument'],
      ['an ID over 255 characters', [abortRule({ ID: 'x'.repeat(256) })], 'InvalidArgument'],
      ['a status other than Enabled|Disabled', [abortRule({ Status: 'On' as 'Enabled' })], 'MalformedXML'],
      ['neither Filter nor Prefix', [abortRule({ Filter: undefined })], 'MalformedXML'],
      ['both Filter and Prefix', [abortRule({ Prefix: 'objects/' })], 'MalformedXML'],
      ['no action', [abortRule({ AbortIncompleteMultipartUpload: undefined })], 'InvalidArgument'],
      [
        'DaysAfterInitiation 0',
        [abortRule({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 0 } })],
        'InvalidArgument',
      ],
      ['an abort rule with a Tag filter', [abortRule({ Filter: { Tag: { Key: 'k', Value: 'v' } } })], 'InvalidRequest'],
      [
        'Expiration.Days 0',
        [abortRule({ AbortIncompleteMultipartUpload: undefined, Expiration: { Days: 0 } })],
        'InvalidArgument',
      ],
    ])('refuses %s', async (_, rules, code) => {
      await put([abortRule()]);
      expect(await refusal(put(rules))).toEqual({ code, status: 400 });
      // A refused configuration leaves the bucket's rules as they were.
      const got = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket() }));
      expect(got.Rules!.map((r) => r.ID)).toEqual(['abort']);
    });

    it('refuses a lifecycle put without an integrity header', async () => {
      const body =
        '<LifecycleConfiguration><Rule><ID>raw</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter>' +
        '<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>' +
        '</Rule></LifecycleConfiguration>';
      const res = await fetch(`${s3.endpoint}/${bucket()}?lifecycle`, { method: 'PUT', body });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidRequest</Code>');
    });

    it('reports versioning as never enabled', async () => {
      const got = await client.send(new GetBucketVersioningCommand({ Bucket: bucket() }));
      expect(got.Status).toBeUndefined();
    });
  });
});
