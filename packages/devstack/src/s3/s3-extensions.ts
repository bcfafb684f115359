/**
 * What the devstack's S3 answers itself, in front of s3rver's router (which refuses these with 405
 * or 501, or is laxer than S3): AbortMultipartUpload, ListMultipartUploads, DeleteObjects with S3's
 * limits, Put/Get/DeleteBucketLifecycleConfiguration with S3's validation, GetBucketVersioning
 * (never enabled here). Requests pass s3rver's own authentication first, like every other.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import authentication from 's3rver/lib/middleware/authentication.js';
import S3Error from 's3rver/lib/models/error.js';
import { validateLifecycleConfiguration } from './lifecycle-config.js';
import type { MultipartStore } from './multipart-store.js';
import { listUploadsXml } from './list-uploads.js';
import { S3_XMLNS, isElement, many, malformedXml, parseXml, tag, textOf, xmlDocument } from './s3-xml.js';

/** The parts of Koa's context these handlers use. */
export interface S3Context {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: IncomingHttpHeaders;
  req: IncomingMessage;
  status: number;
  body: unknown;
  type: string;
  params: Record<string, string | undefined>;
  store: MultipartStore;
}
type Next = () => Promise<void>;

const MAX_DELETE_KEYS = 1000;
/** 1,000 keys of 1,024 bytes and their markup fit; S3's own bound is of this order. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const LIFECYCLE = 'lifecycle.xml';

const authenticate = authentication();

/** The Koa middleware: handles what it knows, passes the rest on to s3rver's router. */
export async function s3Extensions(ctx: S3Context, next: Next): Promise<void> {
  const target = PATH.exec(ctx.path);
  const handler = target && route(ctx, target[2] !== undefined);
  if (!target || !handler) return next();
  ctx.params = { bucket: decodeURIComponent(target[1]!), key: target[2] && decodeURIComponent(target[2]) };
  await authenticate(ctx, async () => {
    if (!(await ctx.store.getBucket(ctx.params.bucket!))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.params.bucket! });
    }
    await handler(ctx, ctx.params.bucket!, ctx.params.key);
  });
}

type Handler = (ctx: S3Context, bucket: string, key: string | undefined) => Promise<void>;

/** Path style: `/bucket` (the SDK may add a slash) or `/bucket/key`. */
const PATH = /^\/([^/]+)(?:\/|\/(.+))?$/;

function route(ctx: S3Context, objectLevel: boolean): Handler | undefined {
  const has = (name: string) => ctx.query[name] !== undefined;
  if (objectLevel) return ctx.method === 'DELETE' && has('uploadId') ? abortUpload : undefined;
  if (ctx.method === 'GET' && has('uploads')) return listUploads;
  if (ctx.method === 'POST' && has('delete')) return deleteObjects;
  if (ctx.method === 'GET' && has('versioning')) return getVersioning;
  if (has('lifecycle')) return { PUT: putLifecycle, GET: getLifecycle, DELETE: deleteLifecycle }[ctx.method];
  return undefined;
}

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

async function abortUpload(ctx: S3Context, bucket: string, key: string | undefined): Promise<void> {
  await ctx.store.abortUpload(bucket, key!, single(ctx.query.uploadId) ?? '');
  ctx.status = 204;
}

async function listUploads(ctx: S3Context, bucket: string): Promise<void> {
  if (ctx.query.delimiter !== undefined) {
    throw new S3Error('NotImplemented', 'The devstack S3 lists multipart uploads without a delimiter.');
  }
  const param = (name: string) => single(ctx.query[name]) ?? '';
  const max = single(ctx.query['max-uploads']);
  if (max !== undefined && !/^[0-9]{1,9}$/.test(max)) {
    throw new S3Error('InvalidArgument', 'Argument max-uploads must be an integer between 0 and 2147483647', {
      ArgumentName: 'max-uploads',
      ArgumentValue: max,
    });
  }
  const uploads = await ctx.store.listUploads(bucket);
  ctx.type = 'application/xml';
  ctx.body = listUploadsXml(bucket, uploads, {
    prefix: param('prefix'),
    keyMarker: param('key-marker'),
    uploadIdMarker: param('upload-id-marker'),
    // S3 answers at most 1,000 whatever is asked.
    maxUploads: Math.min(max === undefined ? 1000 : Number(max), 1000),
  });
}

/** S3 requires an integrity header on DeleteObjects (and lifecycle puts) and checks it. */
async function checkedBody(ctx: S3Context): Promise<string> {
  const body = await readBody(ctx.req);
  const headers = ctx.headers;
  const md5 = single(headers['content-md5']);
  const checksums = Object.keys(headers).filter(
    (name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type',
  );
  if (md5 === undefined && checksums.length === 0) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  for (const name of checksums) {
    const algorithm = name.slice('x-amz-checksum-'.length);
    const actual = digest(algorithm, body);
    // CRC32C and CRC64NVME are taken on trust: Node has no implementation of them.
    if (actual !== undefined && actual !== single(headers[name])) {
      throw new S3Error(
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
  }
  return body.toString('utf8');
}

function digest(algorithm: string, body: Buffer): string | undefined {
  if (algorithm === 'sha1' || algorithm === 'sha256') return createHash(algorithm).update(body).digest('base64');
  if (algorithm !== 'crc32') return undefined;
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(body));
  return out.toString('base64');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.', {
        MaxMessageLengthBytes: MAX_BODY_BYTES,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** DeleteObjects: 1 to 1,000 keys; an absent key counts as deleted; Quiet answers only failures. */
async function deleteObjects(ctx: S3Context, bucket: string): Promise<void> {
  const request = parseXml(await checkedBody(ctx), 'Delete');
  const objects = many(request.Object);
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw malformedXml();
  const keys = objects.map((o) => {
    const key = isElement(o) ? textOf(o.Key) : undefined;
    if (!key) throw malformedXml();
    return key;
  });
  const quiet = textOf(request.Quiet) === 'true';
  const results = await Promise.all(
    keys.map(async (key) => {
      try {
        if (await ctx.store.existsObject(bucket, key)) await ctx.store.deleteObject(bucket, key);
        return quiet ? '' : `<Deleted>${tag('Key', key)}</Deleted>`;
      } catch {
        // s3rver prunes empty folders after each delete: a sibling's delete running at the same time
        // can fail on a folder already pruned although the object is gone. Gone is deleted.
        if (!(await ctx.store.existsObject(bucket, key).catch(() => true))) {
          return quiet ? '' : `<Deleted>${tag('Key', key)}</Deleted>`;
        }
        return `<Error>${tag('Key', key)}${tag('Code', 'InternalError')}${tag('Message', 'We encountered an internal error. Please try again.')}</Error>`;
      }
    }),
  );
  ctx.type = 'application/xml';
  ctx.body = xmlDocument(`<DeleteResult xmlns="${S3_XMLNS}">${results.join('')}</DeleteResult>`);
}

/** Versioning cannot be turned on here (PutBucketVersioning stays 501): a bucket that never had it. */
async function getVersioning(ctx: S3Context): Promise<void> {
  ctx.type = 'application/xml';
  ctx.body = xmlDocument(`<VersioningConfiguration xmlns="${S3_XMLNS}"/>`);
}

async function putLifecycle(ctx: S3Context, bucket: string): Promise<void> {
  const xml = await checkedBody(ctx);
  validateLifecycleConfiguration(xml);
  await writeFile(ctx.store.getResourcePath(bucket, undefined, LIFECYCLE), xml);
  ctx.status = 200;
}

async function getLifecycle(ctx: S3Context, bucket: string): Promise<void> {
  let xml: string;
  try {
    xml = await readFile(ctx.store.getResourcePath(bucket, undefined, LIFECYCLE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new S3Error('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', {
      BucketName: bucket,
    });
  }
  ctx.type = 'application/xml';
  ctx.body = xml;
}

async function deleteLifecycle(ctx: S3Context, bucket: string): Promise<void> {
  await rm(ctx.store.getResourcePath(bucket, undefined, LIFECYCLE), { force: true });
  ctx.status = 204;
}
