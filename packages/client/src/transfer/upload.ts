import { ConduitError, DEFAULT_SEGMENT_SIZE, padme, parseHeader, SegmentEncryptor } from '@conduit/shared';
import type { GroupId, MultipartUpload, ObjectId, PointerId } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import { sha256Hex } from '../platform/sha256.js';
import type { Sha256Factory } from '../platform/sha256.js';
import type { ObjectStorage } from '../platform/object-storage.js';
import type { SourceFiles } from '../platform/source-files.js';
import { randomBytes } from '../util/random.js';
import type { KeySealer } from '../virgil/self-seal.js';
import { DEFAULT_PART_PLAIN_BYTES, partSpan, planParts } from './part-plan.js';
import type { PartSpan } from './part-plan.js';
import { PartUrls } from './part-urls.js';
import { runBounded } from './pool.js';
import { progressEmitter } from './progress.js';
import type { ProgressListener } from './progress.js';
import { RetryableStorageError, withRetry } from './retry.js';
import { putStreamedPart, readFully, segmentBounds, SourceChanged } from './upload-segments.js';
import type { Job } from './upload-segments.js';
import type { UploadStateStore } from './upload-state.js';
import type { LoadedUpload, UploadParams } from './upload-state.js';

/**
 * Encrypt-while-uploading through S3 multipart (docs/format.md §5): each part is a streamed PUT
 * whose body is produced segment by segment (read, hash, encrypt) while it is sent, a few parts in
 * flight. Memory stays at a few segments per part in flight, whatever the file size.
 *
 * Nonce safety: a segment's plaintext digest is persisted before its ciphertext is produced, and
 * whenever a segment is encrypted again (a retried part, or a part in flight when the process
 * died) its plaintext must hash to the recorded digest first. A resumed upload also re-hashes
 * every part already stored. Any difference, or a changed size/mtime, abandons the upload for a
 * new object with a fresh key: the same nonce never encrypts two different plaintexts.
 */
export type ResumeMode = 'auto' | 'require' | 'never';

export interface UploadOptions {
  /** Pad the encrypted stream to padme(size) (default true). */
  pad?: boolean;
  segmentSize?: number;
  /** Plaintext bytes per part (default 8 MiB; grows for files past 10,000 parts). */
  partSize?: number;
  /** Parts in flight (default 4). */
  concurrency?: number;
  /**
   * auto: resume an interrupted upload of this file to this group if there is one; require: the
   * same, but fail if there is none; never: abandon it and start over. A resume whose file changed
   * starts over with a new object and key in every mode.
   */
  resume?: ResumeMode;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface UploadContext {
  api: Pick<
    HttpClient,
    'createMultipartUpload' | 'getMultipartUpload' | 'presignParts' | 'completeMultipartUpload' | 'abortMultipartUpload'
  >;
  store: UploadStateStore;
  source: SourceFiles;
  storage: ObjectStorage;
  sha256: Sha256Factory;
  keys: KeySealer;
  log: (line: string) => void;
}

export interface UploadedObject {
  pointerId: PointerId;
  objectId: ObjectId;
  contentKey: Buffer;
  header: Buffer;
  plainLength: number;
  paddedLength: number;
  segmentSize: number;
  /** Stored size: ciphertextSize(paddedLength, segmentSize). */
  size: number;
  resumed: boolean;
  /** Forgets the upload state (call once the pointer is published). */
  finish(): Promise<void>;
}

/**
 * Enough parts in flight to keep storage busy across part boundaries (a part's PUT is answered only
 * once storage stored it) at one segment buffer each; more only queued at the store (docs/sdk.md,
 * "Part size and parallelism").
 */
const DEFAULT_CONCURRENCY = 4;
export async function uploadFile(
  ctx: UploadContext,
  groupId: GroupId,
  path: string,
  file: { name: string; type: string },
  opts: UploadOptions = {},
): Promise<UploadedObject> {
  const info = await statFile(ctx.source, path);
  const statePath = ctx.store.pathFor(groupId, path);
  const mode = opts.resume ?? 'auto';
  const previous = await ctx.store.load(statePath);
  let job: Job | undefined;
  if (previous && mode !== 'never') job = await resume(ctx, previous, statePath, info, opts);
  else if (previous) await discard(ctx, previous, statePath, 'a fresh upload was asked for');
  if (!previous && mode === 'require') {
    throw new ConduitError('VALIDATION_FAILED', 'There is no interrupted upload of this file to this group to resume.');
  }

  for (let attempt = 0; ; attempt++) {
    job ??= await start(ctx, groupId, path, file, info, statePath, opts);
    try {
      if (!job.completed) await sendParts(ctx, job, path, opts);
      break;
    } catch (err) {
      if (!(err instanceof SourceChanged) || attempt > 0) {
        if (err instanceof SourceChanged)
          throw new ConduitError('VALIDATION_FAILED', 'The file changed while it was being sent.');
        throw err;
      }
      await discard(ctx, { params: job.params }, statePath, 'the file differs from what was already sent');
      job = undefined;
    }
  }
  const { params, plan } = job;
  return {
    pointerId: params.pointerId,
    objectId: params.objectId,
    contentKey: job.key,
    header: Buffer.from(params.header, 'base64'),
    plainLength: params.size,
    paddedLength: params.paddedLength,
    segmentSize: params.segmentSize,
    size: plan.objectSize,
    resumed: job.resumed,
    finish: () => ctx.store.remove(statePath),
  };
}

async function statFile(source: SourceFiles, path: string): Promise<{ size: number; mtimeMs: number }> {
  const info = await source.stat(path).catch((err: unknown) => {
    throw new ConduitError('VALIDATION_FAILED', `Cannot read ${path}.`, undefined, { cause: err });
  });
  if (!info.isFile) throw new ConduitError('VALIDATION_FAILED', `${path} is not a regular file.`);
  return { size: info.size, mtimeMs: info.mtimeMs };
}

async function start(
  ctx: UploadContext,
  groupId: GroupId,
  path: string,
  file: { name: string; type: string },
  info: { size: number; mtimeMs: number },
  statePath: string,
  opts: UploadOptions,
): Promise<Job> {
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const paddedLength = opts.pad === false ? info.size : padme(info.size);
  const partPlainBytes = opts.partSize ?? DEFAULT_PART_PLAIN_BYTES;
  const plan = planParts(paddedLength, segmentSize, partPlainBytes);
  const key = randomBytes(32);
  const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize });
  const upload: MultipartUpload = await ctx.api.createMultipartUpload(groupId, { size: plan.objectSize });
  if (upload.size !== plan.objectSize)
    throw new ConduitError('TRANSPORT', 'The server created an upload of another size.');
  const params: UploadParams = {
    v: 1,
    groupId,
    path,
    size: info.size,
    mtimeMs: info.mtimeMs,
    name: file.name,
    type: file.type,
    uploadId: upload.uploadId,
    objectId: upload.objectId,
    pointerId: randomBytes(16).toString('hex'),
    segmentSize,
    paddedLength,
    partPlainBytes,
    header: encryptor.header.toString('base64'),
    sealedKey: await ctx.keys.seal(key),
  };
  const log = await ctx.store.create(statePath, params);
  return {
    params,
    key,
    encryptor,
    plan,
    segments: new Map(),
    parts: new Map(),
    log,
    sha256: ctx.sha256,
    completed: false,
    resumed: false,
  };
}

async function resume(
  ctx: UploadContext,
  previous: LoadedUpload,
  statePath: string,
  info: { size: number; mtimeMs: number },
  opts: UploadOptions,
): Promise<Job | undefined> {
  const { params } = previous;
  if (params.size !== info.size || params.mtimeMs !== info.mtimeMs) {
    await discard(ctx, previous, statePath, 'the file changed since the upload started');
    return undefined;
  }
  if (!previous.completed) {
    try {
      await ctx.api.getMultipartUpload(params.groupId, params.uploadId);
    } catch (err) {
      if (err instanceof ConduitError && err.status === 404) {
        await discard(ctx, previous, statePath, 'the server no longer has the upload');
        return undefined;
      }
      throw err;
    }
  }
  let key: Buffer;
  try {
    key = await ctx.keys.open(params.sealedKey);
  } catch (err) {
    if (err instanceof ConduitError && ['TRANSPORT', 'TIMEOUT', 'DEPENDENCY_UNAVAILABLE'].includes(err.code)) throw err;
    await discard(ctx, previous, statePath, 'its key could not be opened');
    return undefined;
  }
  const plan = planParts(params.paddedLength, params.segmentSize, params.partPlainBytes);
  const job: Job = {
    params,
    key,
    encryptor: resumeEncryptor(key, Buffer.from(params.header, 'base64')),
    plan,
    segments: previous.segments,
    parts: previous.parts,
    log: ctx.store.log(statePath),
    sha256: ctx.sha256,
    completed: previous.completed,
    resumed: true,
  };
  if (!job.completed && !(await sentPartsUnchanged(ctx.source, job, opts))) {
    await discard(ctx, previous, statePath, 'the file differs from the parts already sent');
    return undefined;
  }
  ctx.log(`resuming upload of object ${params.objectId} (${job.parts.size} of ${plan.partCount} parts sent)`);
  return job;
}

/** The same key and salt as before: the header's salt is what makes the nonces of this object. */
function resumeEncryptor(key: Buffer, header: Buffer): SegmentEncryptor {
  const parsed = parseHeader(header);
  const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize: parsed.segmentSize, salt: parsed.salt });
  if (header.length !== encryptor.header.length || !encryptor.header.equals(header))
    throw new ConduitError('INTEGRITY', 'Corrupt upload state.');
  return encryptor;
}

/** Re-hashes the plaintext of every segment of the parts already stored against its recorded digest. */
async function sentPartsUnchanged(source: SourceFiles, job: Job, opts: UploadOptions): Promise<boolean> {
  const { plan, params } = job;
  const emit = progressEmitter({ direction: 'send', bytesTotal: params.size, name: params.name }, opts.onProgress);
  const fh = await source.open(params.path);
  const scratch = Buffer.allocUnsafe(plan.segmentSize);
  let checked = 0;
  try {
    for (const partNumber of job.parts.keys()) {
      if (partNumber > plan.partCount) return false;
      const span = partSpan(plan, partNumber);
      for (let index = span.firstSegment; index < span.firstSegment + span.segments; index++) {
        const { real } = segmentBounds(job, index);
        if (real > 0) await readFully(fh, scratch, real, index * plan.segmentSize);
        if (sha256Hex(job.sha256, scratch.subarray(0, real)) !== job.segments.get(index)) return false;
        checked += real;
      }
      emit('verifying', checked);
    }
    return true;
  } catch (err) {
    if (err instanceof SourceChanged) return false;
    throw err;
  } finally {
    await fh.close();
  }
}

async function sendParts(ctx: UploadContext, job: Job, path: string, opts: UploadOptions): Promise<void> {
  try {
    await sendAndComplete(ctx, job, path, opts);
  } finally {
    await job.log.close();
  }
}

async function sendAndComplete(ctx: UploadContext, job: Job, path: string, opts: UploadOptions): Promise<void> {
  const { plan, params } = job;
  const emit = progressEmitter({ direction: 'send', bytesTotal: params.size, name: params.name }, opts.onProgress);
  const plainIn = (span: PartSpan) => Math.max(0, Math.min(span.plainEnd, params.size) - span.plainStart);
  const pending: number[] = [];
  let done = 0;
  for (let p = 1; p <= plan.partCount; p++) {
    if (job.parts.has(p)) done += plainIn(partSpan(plan, p));
    else pending.push(p);
  }
  emit('uploading', done);

  const urls = new PartUrls(ctx.api, params.groupId, params.uploadId, plan, pending);
  const fh = await ctx.source.open(path);
  try {
    await runBounded(
      pending,
      opts.concurrency ?? DEFAULT_CONCURRENCY,
      async (partNumber) => {
        const span = partSpan(plan, partNumber);
        const etag = await withRetry(
          async () => putStreamedPart(ctx.storage, job, fh, span, await urls.get(partNumber), opts.signal),
          {
            signal: opts.signal,
            onRetry: (err, attempt) => {
              if (err instanceof RetryableStorageError && err.storageStatus === 403) urls.forget(partNumber);
              ctx.log(`part ${partNumber}: retry ${attempt} after ${err.code}`);
            },
          },
        );
        urls.forget(partNumber);
        await job.log.done(partNumber, etag);
        job.parts.set(partNumber, etag);
        done += plainIn(span);
        emit('uploading', done);
      },
      opts.signal,
    );
  } finally {
    await fh.close();
  }
  // A file modified while it was read was encrypted partly old, partly new: refuse to publish it.
  const after = await statFile(ctx.source, path);
  if (after.size !== params.size || after.mtimeMs !== params.mtimeMs) throw new SourceChanged();

  const parts = [...job.parts.entries()]
    .filter(([p]) => p <= plan.partCount)
    .sort(([a], [b]) => a - b)
    .map(([partNumber, etag]) => ({ partNumber, etag }));
  if (parts.length !== plan.partCount) throw new ConduitError('INTERNAL', 'Not every part was uploaded.');
  const completed = await withRetry(() => ctx.api.completeMultipartUpload(params.groupId, params.uploadId, { parts }), {
    signal: opts.signal,
  });
  if (completed.objectId !== params.objectId || completed.size !== plan.objectSize) {
    throw new ConduitError('TRANSPORT', 'The server completed the upload with another object or size.');
  }
  await job.log.completed();
  job.completed = true;
}

/** Abandons an upload: asks the server to abort it (best effort: s3rver cannot) and forgets the state. */
async function discard(
  ctx: UploadContext,
  previous: Pick<LoadedUpload, 'params'>,
  statePath: string,
  why: string,
): Promise<void> {
  ctx.log(`starting over with a new object and key: ${why}`);
  await ctx.api.abortMultipartUpload(previous.params.groupId, previous.params.uploadId).catch((err: unknown) => {
    ctx.log(`could not abort the old upload: ${(err as ConduitError).code ?? 'error'}`);
  });
  await ctx.store.remove(statePath);
}
