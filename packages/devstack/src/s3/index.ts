import { fork, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BucketLifecycleConfiguration } from '@aws-sdk/client-s3';
import { applyLifecycle, deployLifecycle } from './bucket-rules.js';

/** s3rver accepts any signature but requires this access key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export interface StartS3Options {
  directory: string;
  bucket?: string;
  host?: string;
  port?: number;
  startTimeoutMs?: number;
  /** The bucket's lifecycle rules: deploy/s3/lifecycle.json's by default, none with null. */
  lifecycle?: BucketLifecycleConfiguration | null;
}

/** The server's S3 settings (ServerConfig['s3']) for this local S3: path-style, its own credentials. */
export function serverS3Config(s3: LocalS3, presignTtlSeconds = 900) {
  const { bucket, region, endpoint, accessKeyId, secretAccessKey } = s3;
  return { bucket, region, endpoint, forcePathStyle: true, accessKeyId, secretAccessKey, presignTtlSeconds };
}

/**
 * Starts s3rver (with the devstack's S3 extensions, s3-extensions.ts) in a child process on a free
 * port (or the given one), with the bucket created and its lifecycle rules set.
 */
export async function startS3(opts: StartS3Options): Promise<LocalS3> {
  const bucket = opts.bucket ?? 'conduit';
  const host = opts.host ?? '127.0.0.1';
  await mkdir(opts.directory, { recursive: true });
  const entry = fileURLToPath(new URL('./s3-process.js', import.meta.url));
  const child = fork(entry, [opts.directory, bucket, host, String(opts.port ?? 0)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: ['--openssl-legacy-provider'],
  });
  const port = await waitForPort(child, opts.startTimeoutMs ?? 15_000);
  const s3: LocalS3 = {
    endpoint: `http://${host}:${port}`,
    bucket,
    region: 'us-east-1',
    ...S3RVER_CREDENTIALS,
    close: () => stopChild(child),
  };
  const rules = opts.lifecycle === undefined ? await deployLifecycle() : opts.lifecycle;
  try {
    if (rules) await applyLifecycle(s3, rules);
  } catch (err) {
    await s3.close();
    throw err;
  }
  return s3;
}

function waitForPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (msg: { port?: unknown }) => {
      clearTimeout(timer);
      if (typeof msg.port === 'number') resolve(msg.port);
      else reject(new Error('s3rver reported no port'));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited during start (code ${code})`));
    });
  });
}

export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
