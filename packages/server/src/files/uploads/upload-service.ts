import { randomBytes } from 'node:crypto';
import { ConduitError, MIN_PART_BYTES, objectKeyOf } from '@conduit/shared';
import type { ObjectIndex } from '../../lifecycle/object-index.js';
import type { CompletedUpload, MultipartUpload, ObjectStore, PresignedParts } from '@conduit/shared';
import type { Logger } from 'pino';
import { isAssembledFrom } from './assembled-object.js';
import type { Quotas } from '../../limits/quotas.js';
import type { UploadRecord, UploadRepository } from './upload-repository.js';

/** The ObjectStore port plus what the multipart flow needs to undo a bad assembly. */
/** The endpoint acting: an upload belongs to the one that started it. */
export interface Caller {
  identity: string;
  deviceId: string;
}

export type ReleaseOutcome = 'aborted' | 'absent' | 'unsupported';

/** A retried complete gets the same answer for this long. */
const COMPLETED_RETENTION_MS = 3600 * 1000;

/** An open upload holds its declared size against its identity's stored-bytes quota under this id. */
const reservationOf = (uploadId: string) => `upl:${uploadId}`;

const noSuchUpload = () => new ConduitError('NOT_FOUND', 'No such upload.');
const invalid = (message: string, details?: unknown) => new ConduitError('VALIDATION_FAILED', message, details);

/**
 * Resumable multipart uploads of new objects. Clients PUT parts straight to S3 with presigned URLs
 * bound to each part's size; the server records those sizes so it can refuse, before assembling,
 * a part list S3 would reject or that cannot add up to the declared size, and it checks the
 * assembled object's size afterwards (a part may have been sent with an older URL of another size).
 */
export class UploadService {
  private loggedUnsupported = false;

  constructor(
    private readonly deps: {
      repo: UploadRepository;
      store: ObjectStore;
      /** Absent in the worker's upload cleaner, which never creates uploads. */
      index?: Pick<ObjectIndex, 'staged' | 'counted'>;
      quotas: Pick<Quotas, 'reserveBytes' | 'finishBytes'>;
      ttlSeconds: number;
      logger: Logger;
      now?: () => Date;
    },
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async create(groupId: string, caller: Caller, size: number): Promise<MultipartUpload> {
    // Server-chosen ids: a client can never overwrite an existing object or guess an upload.
    const uploadId = randomBytes(16).toString('hex');
    const objectId = randomBytes(16).toString('hex');
    const key = objectKeyOf(groupId, objectId);
    // Before S3 sees the upload: a refused quota leaves nothing behind.
    await this.deps.quotas.reserveBytes(caller.identity, size, reservationOf(uploadId));
    const createdAt = this.now();
    const expiresAt = new Date(createdAt.getTime() + this.deps.ttlSeconds * 1000);
    try {
      await this.deps.index?.staged(groupId, objectId, caller, createdAt);
      const { storeUploadId } = await this.deps.store.createMultipartUpload(key);
      await this.deps.repo.create({
        uploadId,
        groupId,
        objectId,
        key,
        storeUploadId,
        size,
        identity: caller.identity,
        deviceId: caller.deviceId,
        createdAt: createdAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
      });
    } catch (err) {
      // Without a record nothing would ever give the bytes back (S3's lifecycle rule frees the parts).
      await this.deps.quotas.finishBytes(caller.identity, reservationOf(uploadId), 0);
      throw err;
    }
    return { uploadId, objectId, size, expiresAt: expiresAt.toISOString() };
  }

  async get(groupId: string, uploadId: string, caller: Caller): Promise<MultipartUpload> {
    const upload = this.requireOpen(await this.owned(groupId, uploadId, caller));
    return view(upload);
  }

  async presignParts(
    groupId: string,
    uploadId: string,
    caller: Caller,
    parts: readonly { partNumber: number; size: number }[],
  ): Promise<PresignedParts> {
    const upload = this.requireOpen(await this.owned(groupId, uploadId, caller));
    if (new Set(parts.map((p) => p.partNumber)).size !== parts.length) throw invalid('Part numbers must be unique.');
    // Recorded first, so every URL handed out has a recorded size to check at completion.
    const recorded = await this.deps.repo.recordParts(upload, parts);
    if (!recorded.ok && recorded.reason === 'ABSENT') throw noSuchUpload();
    if (!recorded.ok) throw invalid(`The parts add up to more than the upload's ${upload.size} bytes.`);

    const signed = await Promise.all(
      parts.map((p) => this.deps.store.presignUploadPart(upload.key, upload.storeUploadId, p.partNumber, p.size)),
    );
    const expiresAt = Math.min(...signed.map((s) => s.expiresAt.getTime()));
    return {
      parts: signed.map((s, i) => ({ partNumber: parts[i]!.partNumber, url: s.url, headers: s.headers })),
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  async complete(
    groupId: string,
    uploadId: string,
    caller: Caller,
    parts: readonly { partNumber: number; etag: string }[],
  ): Promise<CompletedUpload> {
    const owned = await this.owned(groupId, uploadId, caller);
    if (owned.state === 'completed') return { objectId: owned.objectId, size: owned.size };
    const upload = this.requireOpen(owned);
    await this.checkParts(upload, parts);

    try {
      await this.deps.store.completeMultipartUpload(upload.key, upload.storeUploadId, [...parts]);
    } catch (err) {
      // An earlier complete may have assembled the object with its answer lost (the API died
      // before recording it): whatever the store answers now, the object itself says.
      const stored = await this.deps.store.head(upload.key);
      if (isAssembledFrom(stored, { size: upload.size, parts })) {
        this.deps.logger.info({ uploadId }, 'multipart upload was already assembled; completing it');
        return this.completed(upload);
      }
      if (!(err instanceof ConduitError && err.code === 'NOT_FOUND')) throw err;
      // The upload is consumed; an object it left that is not what was listed is nobody's.
      if (stored) await this.deps.store.deleteObject(upload.key);
      await this.drop(upload);
      throw noSuchUpload();
    }

    const stored = await this.deps.store.head(upload.key);
    if (stored?.size !== upload.size) {
      // The upload is consumed either way; never leave an object of the wrong size behind.
      await this.deps.store.deleteObject(upload.key);
      await this.drop(upload);
      throw invalid(
        `The assembled object has ${stored?.size ?? 0} bytes, not the declared ${upload.size}; it was deleted. Start a new upload.`,
      );
    }
    return this.completed(upload);
  }

  /** The object exists: its bytes stay counted until it is erased (the index gives them back then). */
  private async completed(upload: UploadRecord): Promise<CompletedUpload> {
    // What the reservation keeps counted, recorded where erasure finds it to give back (first: a
    // retry after a crash here completes again, one after markCompleted does not).
    await this.deps.index?.counted(upload.groupId, upload.objectId, upload.size);
    await this.deps.repo.markCompleted(upload.uploadId, COMPLETED_RETENTION_MS);
    await this.deps.quotas.finishBytes(upload.identity, reservationOf(upload.uploadId), upload.size);
    return { objectId: upload.objectId, size: upload.size };
  }

  /** No object is left: the record goes and the bytes are given back (idempotent, like the removal). */
  private async drop(upload: UploadRecord): Promise<void> {
    await this.deps.repo.remove(upload.uploadId);
    await this.deps.quotas.finishBytes(upload.identity, reservationOf(upload.uploadId), 0);
  }

  /** Idempotent: an unknown or finished upload is already "aborted". */
  async abort(groupId: string, uploadId: string, caller: Caller): Promise<void> {
    const upload = await this.deps.repo.get(uploadId);
    if (!upload || upload.groupId !== groupId) return;
    requireOwner(upload, caller);
    if (upload.state === 'open') await this.release(upload);
  }

  /** Frees the store's parts and drops the record; the record goes only once the store has answered. */
  async release(upload: UploadRecord): Promise<ReleaseOutcome> {
    const outcome = await this.deps.store.abortMultipartUpload(upload.key, upload.storeUploadId);
    if (outcome === 'unsupported' && !this.loggedUnsupported) {
      this.loggedUnsupported = true;
      this.deps.logger.info(
        'object store cannot abort multipart uploads; relying on the bucket lifecycle rule AbortIncompleteMultipartUpload',
      );
    }
    await this.drop(upload);
    return outcome;
  }

  /** Refuses, before S3 sees them, part lists that S3 would reject or that cannot make the declared size. */
  private async checkParts(upload: UploadRecord, parts: readonly { partNumber: number }[]): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) {
        throw invalid('Parts must be listed once each, in ascending part number order.');
      }
    }
    const sizes = await this.deps.repo.partSizes(
      upload.uploadId,
      parts.map((p) => p.partNumber),
    );
    const unknown = parts.filter((_, i) => sizes[i] === null).map((p) => p.partNumber);
    if (unknown.length > 0) {
      throw invalid('Some parts were never presigned.', { partNumbers: unknown.slice(0, 20) });
    }
    const small = parts.filter((_, i) => i < parts.length - 1 && sizes[i]! < MIN_PART_BYTES).map((p) => p.partNumber);
    if (small.length > 0) {
      throw invalid('Every part but the last must be at least 5 MiB.', { partNumbers: small.slice(0, 20) });
    }
    const total = sizes.reduce<number>((sum, s) => sum + s!, 0);
    if (total !== upload.size) throw invalid(`The parts add up to ${total} bytes, not the declared ${upload.size}.`);
  }

  /** The caller's upload in this group: 404 when unknown here, 403 when another endpoint's. */
  private async owned(groupId: string, uploadId: string, caller: Caller): Promise<UploadRecord> {
    const upload = await this.deps.repo.get(uploadId);
    if (!upload || upload.groupId !== groupId) throw noSuchUpload();
    requireOwner(upload, caller);
    return upload;
  }

  /** Completed and expired uploads are gone as far as clients are concerned. */
  private requireOpen(upload: UploadRecord): UploadRecord {
    if (upload.state !== 'open' || Date.parse(upload.expiresAt) <= this.now().getTime()) throw noSuchUpload();
    return upload;
  }
}

function requireOwner(upload: UploadRecord, caller: Caller): void {
  if (upload.identity !== caller.identity || upload.deviceId !== caller.deviceId) {
    throw new ConduitError('FORBIDDEN', 'This upload belongs to another endpoint.');
  }
}

const view = (u: UploadRecord): MultipartUpload => ({
  uploadId: u.uploadId,
  objectId: u.objectId,
  size: u.size,
  expiresAt: u.expiresAt,
});
