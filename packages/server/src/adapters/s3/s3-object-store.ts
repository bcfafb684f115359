import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConduitError } from '@conduit/shared';
import type { BucketRules, OpenMultipartUpload, PresignedRequest, StoredObject } from '@conduit/shared';
import { bucketRuleOf } from './bucket-rules.js';
import type { ObjectStore } from '@conduit/shared';

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** For S3-compatible servers (s3rver locally); AWS needs none. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Both or neither; neither uses the default AWS credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  presignTtlSeconds: number;
}

const isNotFound = (err: unknown): boolean =>
  err instanceof S3ServiceException &&
  (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

/** The store does not implement the request, or the credentials may not make it. */
const refusedAs = (err: unknown): 'unsupported' | 'denied' | undefined => {
  if (!(err instanceof S3ServiceException)) return undefined;
  if (err.name === 'AccessDenied' || err.$metadata.httpStatusCode === 403) return 'denied';
  const status = err.$metadata.httpStatusCode;
  return err.name === 'NotImplemented' || status === 501 || status === 405 ? 'unsupported' : undefined;
};

const isNoSuchUpload = (err: unknown): boolean => err instanceof S3ServiceException && err.name === 'NoSuchUpload';

/** Complete-time refusals that are the uploader's fault (S3 keeps the upload open after them). */
const PART_ERRORS: Record<string, string> = {
  InvalidPart: 'A listed part was not uploaded or its ETag does not match.',
  InvalidPartOrder: 'Parts must be listed in ascending part number order.',
  EntityTooSmall: 'Every part but the last must be at least 5 MiB.',
};

const MAX_DELETE_KEYS = 1000;

/** The one S3 client configuration (objects and feed pages share it). */
export function createS3Client(options: S3ObjectStoreOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
    // The SDK's default checksums send aws-chunked bodies that some S3-compatible servers store
    // verbatim; WHEN_REQUIRED keeps plain bodies and costs nothing on AWS.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK waits forever by default; a request must fail (503) rather than hang on a dead S3.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

/** Ciphertext storage on S3. The server only presigns and inspects; bodies never pass through it. */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.client = createS3Client(options);
  }

  /** Content-Length is a signed header, so S3 refuses a body of any other size. */
  async presignPut(key: string, size: number): Promise<PresignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.options.bucket, Key: key, ContentLength: size });
    return this.presign(command, { 'content-length': String(size) });
  }

  async presignGet(key: string): Promise<PresignedRequest> {
    return this.presign(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {});
  }

  async head(key: string): Promise<{ size: number; etag?: string } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, ...(out.ETag ? { etag: out.ETag } : {}) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw unavailable(err);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw unavailable(err);
    }
  }

  /** S3 refuses more than 1,000 keys per DeleteObjects request. */
  async deleteObjects(keys: readonly string[]): Promise<{ failed: { key: string; code: string }[] }> {
    if (keys.length > MAX_DELETE_KEYS) throw new Error(`DeleteObjects takes at most ${MAX_DELETE_KEYS} keys.`);
    if (keys.length === 0) return { failed: [] };
    try {
      // Quiet: S3 answers only the keys it could not delete (an absent key is deleted).
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      return { failed: (out.Errors ?? []).map((e) => ({ key: e.Key ?? '', code: e.Code ?? 'Unknown' })) };
    } catch (err) {
      throw unavailable(err);
    }
  }

  async *listObjects(prefix: string): AsyncGenerator<StoredObject[]> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw unavailable(err);
      }
      yield (out.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? new Date(0),
      }));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async createMultipartUpload(key: string): Promise<{ storeUploadId: string }> {
    let uploadId: string | undefined;
    try {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.options.bucket, Key: key }));
      uploadId = out.UploadId;
    } catch (err) {
      throw unavailable(err);
    }
    if (!uploadId) throw unavailable(new Error('CreateMultipartUpload returned no UploadId.'));
    return { storeUploadId: uploadId };
  }

  /** Like presignPut, Content-Length is signed: the part must be exactly `size` bytes. */
  async presignUploadPart(
    key: string,
    storeUploadId: string,
    partNumber: number,
    size: number,
  ): Promise<PresignedRequest> {
    const command = new UploadPartCommand({
      Bucket: this.options.bucket,
      Key: key,
      UploadId: storeUploadId,
      PartNumber: partNumber,
      ContentLength: size,
    });
    return this.presign(command, { 'content-length': String(size) });
  }

  /**
   * Part-level refusals become VALIDATION_FAILED, an unknown upload NOT_FOUND, the rest 503. A
   * repeated complete of an assembled upload may answer anything (S3: 200 or NoSuchUpload; s3rver:
   * 500): the upload service checks the object itself.
   */
  async completeMultipartUpload(
    key: string,
    storeUploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: key,
          UploadId: storeUploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      if (isNoSuchUpload(err)) throw new ConduitError('NOT_FOUND', 'No such upload.');
      const partError = err instanceof S3ServiceException ? PART_ERRORS[err.name] : undefined;
      if (partError) throw new ConduitError('VALIDATION_FAILED', partError);
      throw unavailable(err);
    }
  }

  /** S3 (and the devstack's) aborts, or says NoSuchUpload once gone; plain s3rver answers 405. */
  async abortMultipartUpload(key: string, storeUploadId: string): Promise<'aborted' | 'absent' | 'unsupported'> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: key, UploadId: storeUploadId }),
      );
      return 'aborted';
    } catch (err) {
      if (isNoSuchUpload(err)) return 'absent';
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 405) return 'unsupported';
      throw unavailable(err);
    }
  }

  async *listMultipartUploads(prefix: string): AsyncGenerator<OpenMultipartUpload[]> {
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      let out;
      try {
        out = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.options.bucket, Prefix: prefix, ...markers }),
        );
      } catch (err) {
        throw unavailable(err);
      }
      yield (out.Uploads ?? []).flatMap((u) =>
        u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) }] : [],
      );
      if (!out.IsTruncated || !out.NextKeyMarker) return;
      markers = { KeyMarker: out.NextKeyMarker, UploadIdMarker: out.NextUploadIdMarker };
    }
  }

  async bucketRules(): Promise<BucketRules> {
    try {
      const out = await this.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: this.options.bucket }));
      return { rules: (out.Rules ?? []).map(bucketRuleOf) };
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'NoSuchLifecycleConfiguration') return 'none';
      const refused = refusedAs(err);
      if (refused) return refused;
      throw unavailable(err);
    }
  }

  async bucketVersioning(): Promise<'enabled' | 'suspended' | 'off' | 'unsupported' | 'denied'> {
    try {
      const out = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.options.bucket }));
      return out.Status === 'Enabled' ? 'enabled' : out.Status === 'Suspended' ? 'suspended' : 'off';
    } catch (err) {
      const refused = refusedAs(err);
      if (refused) return refused;
      throw unavailable(err);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async presign(
    command: PutObjectCommand | GetObjectCommand | UploadPartCommand,
    headers: Record<string, string>,
  ): Promise<PresignedRequest> {
    const expiresIn = this.options.presignTtlSeconds;
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    // getSignedUrl's generics cannot take a union of commands; each member is a valid argument.
    const url = await getSignedUrl(this.client, command as PutObjectCommand, { expiresIn });
    return { url, headers, expiresAt };
  }
}

function unavailable(cause: unknown): ConduitError {
  return new ConduitError('DEPENDENCY_UNAVAILABLE', 'Object storage is unavailable.', undefined, { cause });
}
