import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import type { ServerConfig } from '../config.js';
import { ensureBucket } from './s3-bucket.js';

export interface LocalS3 {
  /** The S3 section of a server config pointing at this s3rver. */
  s3: ServerConfig['s3'];
  objectStore: S3ObjectStore;
  /** Stops the store and s3rver and deletes s3rver's directory. */
  close(): Promise<void>;
}

/** An s3rver in this process on a free port, with `bucket` created: real S3 for route tests. */
export async function startS3rver(bucket: string): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), `${bucket}-`));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = (await s3rver.run()) as { port: number };
  const s3: ServerConfig['s3'] = {
    bucket,
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    presignTtlSeconds: 300,
  };
  const objectStore = new S3ObjectStore(s3);
  await ensureBucket(objectStore.client, bucket);
  return {
    s3,
    objectStore,
    async close() {
      objectStore.close();
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
