import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import S3Error from 's3rver/lib/models/error.js';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import type { ListedPart, StoredObject } from 's3rver/lib/stores/filesystem.js';

/** S3's minimum size of every part but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
const MANIFEST = 'manifest.json';

export interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

interface ManifestPart {
  number: number;
  size: number;
}

const noSuchUpload = (uploadId: string) =>
  new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * s3rver's filesystem store, but CompleteMultipartUpload assembles the object as S3 does: without
 * copying it. s3rver reads every part back, hashes it and writes it into a new object file (about a
 * second per 256 MiB on the devstack's 2 cores, docs/devstack.md), a cost production never pays;
 * here the completed upload's part files move, by one rename, next to the object, whose own file
 * is a sparse placeholder of the object's size (so s3rver's HEAD, listings and ranges stay as they
 * are) and GETs read the parts. Completion checks what S3 checks (NoSuchUpload, InvalidPartOrder,
 * InvalidPart, EntityTooSmall; s3rver checks none) and answers S3's multipart ETag,
 * md5(part md5s)-count. An UploadPart to an unknown upload is refused with NoSuchUpload, as on S3
 * (s3rver creates the upload's folder instead).
 */
export class MultipartStore extends FilesystemStore {
  /** The upload's folder; an id s3rver cannot have made (its are 32 hex digits) names no upload, nor a path. */
  private uploadDir(bucket: string, uploadId: string): string {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw noSuchUpload(uploadId);
    return join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  }

  private partsDir(bucket: string, key: string): string {
    return this.getResourcePath(bucket, key, 'parts');
  }

  /** The object's parts in order, or null for an object stored whole (PutObject, CopyObject of one). */
  private async manifest(bucket: string, key: string): Promise<ManifestPart[] | null> {
    try {
      return JSON.parse(await readFile(join(this.partsDir(bucket, key), MANIFEST), 'utf8')) as ManifestPart[];
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Every open multipart upload of the bucket (S3's ListMultipartUploads order: key, then initiation). */
  async listUploads(bucket: string): Promise<OpenUpload[]> {
    const root = this.getResourcePath(bucket, undefined, 'uploads');
    let ids: string[];
    try {
      ids = await readdir(root);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const uploads: OpenUpload[] = [];
    for (const uploadId of ids) {
      const keyFile = join(root, uploadId, 'key');
      // An upload completed or aborted while we list is simply not open any more.
      const found = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]).catch((err: unknown) => {
        if (isMissing(err)) return null;
        throw err;
      });
      // s3rver writes the key file once, when the upload is initiated.
      if (found) uploads.push({ key: found[0], uploadId, initiated: found[1].mtime });
    }
    return uploads.sort(
      (a, b) =>
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
        a.initiated.getTime() - b.initiated.getTime() ||
        a.uploadId.localeCompare(b.uploadId),
    );
  }

  /** AbortMultipartUpload: the upload and its parts are gone; NoSuchUpload when there is none. */
  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const dir = this.uploadDir(bucket, uploadId);
    let uploadKey: string;
    try {
      uploadKey = await readFile(join(dir, 'key'), 'utf8');
    } catch (err) {
      if (isMissing(err)) throw noSuchUpload(uploadId);
      throw err;
    }
    if (uploadKey !== key) throw noSuchUpload(uploadId);
    await rm(dir, { recursive: true, force: true });
  }

  override async putPart(
    bucket: string,
    uploadId: string,
    partNumber: number | string,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    try {
      await stat(join(this.uploadDir(bucket, uploadId), 'key'));
    } catch (err) {
      if (isMissing(err)) throw noSuchUpload(uploadId);
      throw err;
    }
    return super.putPart(bucket, uploadId, partNumber, content);
  }

  override async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: ListedPart[],
  ): Promise<{ size: number; md5: string }> {
    const uploadDir = this.uploadDir(bucket, uploadId);
    let key: string;
    let metadata: Record<string, string>;
    try {
      key = await readFile(join(uploadDir, 'key'), 'utf8');
      metadata = JSON.parse(await readFile(join(uploadDir, 'metadata'), 'utf8')) as Record<string, string>;
    } catch (err) {
      if (isMissing(err)) throw noSuchUpload(uploadId);
      throw err;
    }
    const listed = await checkParts(uploadDir, uploadId, parts);
    const etag = `${createHash('md5')
      .update(Buffer.concat(listed.map((p) => Buffer.from(p.md5, 'hex'))))
      .digest('hex')}-${listed.length}`;
    const size = listed.reduce((sum, p) => sum + p.size, 0);

    // S3 drops the parts a complete does not list.
    const keep = new Set(listed.map((p) => String(p.number)));
    for (const name of await readdir(uploadDir)) if (!keep.has(name)) await rm(join(uploadDir, name), { force: true });
    const partsDir = this.partsDir(bucket, key);
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    await rm(partsDir, { recursive: true, force: true });
    await rename(uploadDir, partsDir);
    const manifest: ManifestPart[] = listed.map(({ number, size }) => ({ number, size }));
    await writeFile(join(partsDir, MANIFEST), JSON.stringify(manifest));
    const placeholder = await open(objectPath, 'w');
    try {
      await placeholder.truncate(size);
    } finally {
      await placeholder.close();
    }
    await this.putMetadata(bucket, key, metadata, etag);
    return { size, md5: etag };
  }

  override async getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<StoredObject | null> {
    const object = await super.getObject(bucket, key, options);
    if (!object?.content) return object;
    const parts = await this.manifest(bucket, key);
    if (!parts) return object;
    object.content.destroy();
    const start = object.range?.start ?? 0;
    const end = Math.min(object.range?.end ?? Infinity, object.size - 1);
    object.content = readParts(this.partsDir(bucket, key), parts, start, end);
    return object;
  }

  override async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    await rm(this.partsDir(object.bucket, object.key), { recursive: true, force: true });
    return super.putObject(object);
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, string>,
  ): Promise<unknown> {
    const from = this.partsDir(srcBucket, srcKey);
    const to = this.partsDir(destBucket, destKey);
    if (from === to) return super.copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    await rm(to, { recursive: true, force: true });
    const metadata = await super.copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
    // super copied the placeholder; the bytes are in the parts.
    if (await this.manifest(srcBucket, srcKey)) await cp(from, to, { recursive: true });
    return metadata;
  }

  override async deleteObject(bucket: string, key: string): Promise<void> {
    // First: s3rver's delete removes the key's folder once it is empty.
    await rm(this.partsDir(bucket, key), { recursive: true, force: true });
    await super.deleteObject(bucket, key);
  }
}

/**
 * Bytes start..end (inclusive) of the parts laid end to end: the part's own file stream when the
 * range lies in one part (the common case, as fast as s3rver's own GET), else those of the parts
 * it spans, piped one after the other.
 */
function readParts(dir: string, parts: ManifestPart[], start: number, end: number): Readable {
  const pieces: { path: string; start: number; end: number }[] = [];
  let at = 0;
  for (const { number, size } of parts) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + size - 1);
    if (from <= to) pieces.push({ path: join(dir, String(number)), start: from - at, end: to - at });
    at += size;
  }
  const read = ({ path, start, end }: (typeof pieces)[number]) => createReadStream(path, { start, end });
  if (pieces.length === 1) return read(pieces[0]!);
  const out = new PassThrough();
  const next = () => {
    const piece = pieces.shift();
    if (!piece) return void out.end();
    const stream = read(piece);
    stream.once('error', (err) => out.destroy(err));
    stream.once('end', next);
    stream.pipe(out, { end: false });
  };
  next();
  return out;
}

/** S3's complete-time refusals; returns each listed part's size and MD5. */
async function checkParts(
  uploadDir: string,
  uploadId: string,
  parts: ListedPart[],
): Promise<(ManifestPart & { md5: string })[]> {
  // S3 refuses a complete listing no part at all (the schema requires one); s3rver would make an empty object.
  if (parts.length === 0) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    );
  }
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.number <= parts[i - 1]!.number) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
      );
    }
  }
  const listed: (ManifestPart & { md5: string })[] = [];
  for (const { number, etag } of parts) {
    const path = join(uploadDir, String(number));
    const found = await Promise.all([stat(path), readFile(`${path}.md5`, 'utf8')]).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw err;
    });
    if (!found || found[1] !== etag) {
      throw new S3Error(
        'InvalidPart',
        'One or more of the specified parts could not be found. The part may not have been uploaded, ' +
          "or the specified entity tag may not have matched the part's entity tag.",
        { UploadId: uploadId, PartNumber: number, ETag: etag },
      );
    }
    listed.push({ number, size: found[0].size, md5: found[1] });
  }
  if (listed.slice(0, -1).some((p) => p.size < MIN_PART_BYTES)) {
    throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
  }
  return listed;
}
