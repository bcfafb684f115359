import { CreateBucketCommand, HeadBucketCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';

/**
 * Creates the bucket if it does not exist (tests on s3rver). The server itself never creates one:
 * production buckets are provisioned, and its role may not (deploy/iam/conduit-server-s3.json).
 */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (!(err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) throw err;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}
