import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConduitError } from '@conduit/shared';
import type { ObjectStore, PresignedRequest } from '@conduit/shared';

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

/** Ciphertext storage on S3. The server only presigns and inspects; bodies never pass through it. */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.client = new S3Client({
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
    });
  }

  /** Content-Length is a signed header, so S3 refuses a body of any other size. */
  async presignPut(key: string, size: number): Promise<PresignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.options.bucket, Key: key, ContentLength: size });
    return this.presign(command, { 'content-length': String(size) });
  }

  async presignGet(key: string): Promise<PresignedRequest> {
    return this.presign(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {});
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { size: out.ContentLength ?? 0 };
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

  /** Creates the bucket if it does not exist (dev stack and tests; production buckets are provisioned). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw unavailable(err);
      await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async presign(
    command: PutObjectCommand | GetObjectCommand,
    headers: Record<string, string>,
  ): Promise<PresignedRequest> {
    const expiresIn = this.options.presignTtlSeconds;
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const url = await getSignedUrl(this.client, command, { expiresIn });
    return { url, headers, expiresAt };
  }
}

function unavailable(cause: unknown): ConduitError {
  return new ConduitError('DEPENDENCY_UNAVAILABLE', 'Object storage is unavailable.', undefined, { cause });
}
