// s3rver ships no types; these are the parts of its API the child process uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** The store the request handlers use (they read it from `context`). */
    store: object;
    context: { store: object };
    /** Koa's middleware stack; s3rver's router is the last entry. */
    middleware: unknown[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}

declare module 's3rver/lib/models/error.js' {
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string | number>);
    readonly code: string;
  }
}

declare module 's3rver/lib/stores/filesystem.js' {
  import type { Readable } from 'node:stream';
  /** s3rver's S3Object: `range` (inclusive) only for ranged GETs, `content` null when unsatisfiable. */
  export interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | null;
    range?: { start: number; end: number };
    readonly size: number;
  }
  /** A CompleteMultipartUpload entry, ETag unquoted. */
  export interface ListedPart {
    number: number;
    etag: string;
  }
  export default class FilesystemStore {
    constructor(rootDirectory: string);
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    getBucket(bucket: string): Promise<object | null>;
    existsObject(bucket: string, key: string): Promise<boolean>;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<StoredObject | null>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    copyObject(
      srcBucket: string,
      srcKey: string,
      destBucket: string,
      destKey: string,
      replacementMetadata?: Record<string, string>,
    ): Promise<unknown>;
    deleteObject(bucket: string, key: string): Promise<void>;
    putPart(
      bucket: string,
      uploadId: string,
      partNumber: number | string,
      content: Readable,
    ): Promise<{ size: number; md5: string }>;
    putObjectMultipart(bucket: string, uploadId: string, parts: ListedPart[]): Promise<{ size: number; md5: string }>;
  }
}

declare module 's3rver/lib/middleware/authentication.js' {
  /** s3rver's request authentication (Koa middleware); reads ctx.params.bucket/key. */
  export default function authentication(): (ctx: object, next: () => Promise<void>) => Promise<void>;
}
