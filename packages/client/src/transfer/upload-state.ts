import { GroupId, ObjectId, PointerId, UploadId } from '@conduit/shared';
import { sha256Hex } from '../platform/sha256.js';
import type { Sha256Factory } from '../platform/sha256.js';
import type { Appender, StateFiles } from '../platform/state-files.js';

/**
 * Durable state of one multipart send, so a crashed or restarted sender can resume
 * (`<identity state dir>/uploads/<key>.jsonl`, owner-only). Append-only JSON lines: first the
 * upload's parameters, then per segment a `seg` line (SHA-256 of its plaintext, written BEFORE its
 * ciphertext exists), per part a `done` line with its ETag, and `completed` once the object exists.
 * The content key is stored only sealed for this identity. A torn last line (crash mid-append) is ignored.
 */
export interface UploadParams {
  v: 1;
  groupId: GroupId;
  /** Absolute path of the source file, and the size/mtime it had when the upload started. */
  path: string;
  size: number;
  mtimeMs: number;
  name: string;
  type: string;
  uploadId: UploadId;
  objectId: ObjectId;
  pointerId: PointerId;
  segmentSize: number;
  paddedLength: number;
  partPlainBytes: number;
  /** base64 of the 42-byte container header (holds the salt). */
  header: string;
  /** base64 of the content key sealed for this identity (E3Kit authEncrypt to self). */
  sealedKey: string;
}

export interface LoadedUpload {
  params: UploadParams;
  /** Segment index -> SHA-256 (hex) of the plaintext it was encrypted from. */
  segments: Map<number, string>;
  /** Part number -> ETag of the parts storage acknowledged. */
  parts: Map<number, string>;
  /** The upload was completed (the object exists); only publishing may be missing. */
  completed: boolean;
}

type Line = { seg: number; sha256: string } | { done: number; etag: string } | { completed: true };

export class UploadStateStore {
  constructor(
    private readonly dir: string,
    private readonly files: StateFiles,
    private readonly sha256: Sha256Factory,
  ) {}

  /** One state per (group, file): sending the same file to the same group again resumes it. */
  pathFor(groupId: string, absolutePath: string): string {
    const key = sha256Hex(this.sha256, `${groupId}\0${absolutePath}`).slice(0, 32);
    return this.files.join(this.dir, `${key}.jsonl`);
  }

  async load(path: string): Promise<LoadedUpload | undefined> {
    const text = await this.files.read(path);
    if (text === undefined) return undefined;
    const [first, ...rest] = text.split('\n');
    const params = parseParams(first);
    if (!params) return undefined; // unreadable state: treated as absent (a fresh upload follows)
    const segments = new Map<number, string>();
    const parts = new Map<number, string>();
    let completed = false;
    for (const raw of rest) {
      const line = parseLine(raw);
      if (!line) continue;
      if ('completed' in line) completed = true;
      else if ('seg' in line) segments.set(line.seg, line.sha256);
      else parts.set(line.done, line.etag);
    }
    return { params, segments, parts, completed };
  }

  async create(path: string, params: UploadParams): Promise<UploadLog> {
    await this.files.makeDir(this.dir);
    await this.files.replace(path, `${JSON.stringify(params)}\n`);
    return this.log(path);
  }

  /** Appends to the state at `path` (of an upload created before). */
  log(path: string): UploadLog {
    return new UploadLog(path, this.files);
  }

  async remove(path: string): Promise<void> {
    await this.files.remove(path);
  }
}

/**
 * Appends to one upload's state; each append is one small write of a whole line, through one
 * handle opened at the first append and kept until close() (a line per segment: an open and a
 * close each would cost more than the line).
 */
export class UploadLog {
  private appender: Promise<Appender> | undefined;

  constructor(
    readonly path: string,
    private readonly files: StateFiles,
  ) {}

  segment(index: number, sha256: string): Promise<void> {
    return this.append({ seg: index, sha256 });
  }

  done(partNumber: number, etag: string): Promise<void> {
    return this.append({ done: partNumber, etag });
  }

  completed(): Promise<void> {
    return this.append({ completed: true });
  }

  /** Closes the handle; a later append opens it again. */
  async close(): Promise<void> {
    const appender = this.appender;
    this.appender = undefined;
    if (appender) await (await appender).close();
  }

  private async append(line: Line): Promise<void> {
    this.appender ??= this.files.openAppender(this.path);
    const opening = this.appender;
    try {
      await (await opening).append(`${JSON.stringify(line)}\n`);
    } catch (err) {
      // A failed handle is not kept: the next append opens a fresh one.
      if (this.appender === opening) {
        this.appender = undefined;
        await opening.then((a) => a.close()).catch(() => undefined);
      }
      throw err;
    }
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isString = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

function parseJson(raw: string | undefined): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseParams(raw: string | undefined): UploadParams | undefined {
  const v = parseJson(raw);
  if (!v || v.v !== 1) return undefined;
  const ok =
    GroupId.safeParse(v.groupId).success &&
    UploadId.safeParse(v.uploadId).success &&
    ObjectId.safeParse(v.objectId).success &&
    PointerId.safeParse(v.pointerId).success &&
    isString(v.path) &&
    isString(v.name, 255) &&
    isString(v.type, 127) &&
    isString(v.header, 64) &&
    isString(v.sealedKey) &&
    typeof v.mtimeMs === 'number' &&
    Number.isFinite(v.mtimeMs) &&
    [v.size, v.segmentSize, v.paddedLength, v.partPlainBytes].every(isCount);
  return ok ? (v as unknown as UploadParams) : undefined;
}

function parseLine(raw: string): Line | undefined {
  const v = parseJson(raw);
  if (!v) return undefined;
  if (v.completed === true) return { completed: true };
  if (isCount(v.seg) && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256)) {
    return { seg: v.seg, sha256: v.sha256 };
  }
  if (isCount(v.done) && isString(v.etag, 128)) return { done: v.done, etag: v.etag };
  return undefined;
}
