import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  PutBucketLifecycleConfigurationCommand,
  S3Client,
  type BucketLifecycleConfiguration,
} from '@aws-sdk/client-s3';

/** The bucket rules a deployment applies (docs/deploy.md); the devstack's bucket gets the same. */
export const DEPLOY_LIFECYCLE_FILE = fileURLToPath(new URL('../../../../deploy/s3/lifecycle.json', import.meta.url));

/** deploy/s3/lifecycle.json: the shape `aws s3api put-bucket-lifecycle-configuration` takes. */
export async function deployLifecycle(): Promise<BucketLifecycleConfiguration> {
  return JSON.parse(await readFile(DEPLOY_LIFECYCLE_FILE, 'utf8')) as BucketLifecycleConfiguration;
}

/**
 * Puts the bucket's lifecycle rules through the S3 API (validated as S3 validates them), with the
 * devstack's own credentials: the server's role has no bucket-configuration rights.
 */
export async function applyLifecycle(
  target: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string },
  rules: BucketLifecycleConfiguration,
): Promise<void> {
  const client = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: target.bucket, LifecycleConfiguration: rules }),
    );
  } finally {
    client.destroy();
  }
}
