import type { AuditEntry, ObjectStore, OpenMultipartUpload } from '@conduit/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { newEntryId } from '../audit/pending.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';
import type { UploadRepository } from '../files/uploads/upload-repository.js';
import type { RetentionRunContext, RetentionStep, RetentionStepResult } from './retention-step.js';

/** Where Conduit's objects (and so its multipart uploads) live in the bucket. */
export const OBJECTS_PREFIX = 'objects/';
/** Uploads per abort batch and receipt: the receipt stays far under the audit log's 64 KiB bound. */
export const ORPHAN_BATCH = 100;
/** Past the upload TTL, the upload cleaner has had this long to abort an upload it knows. */
const GRACE_MS = 3600_000;

/** The batch being aborted, kept in Redis until its receipt is in the audit chain. */
interface Journal {
  entryId: string;
  uploads: { key: string; uploadId: string; initiated: string }[];
}

export interface OrphanUploadsDeps {
  redis: RedisClient;
  keys: Keys;
  store: ObjectStore;
  /** Uploads Conduit still tracks as open are the upload cleaner's (files/uploads/upload-cleaner.ts). */
  uploads: UploadRepository;
  audit: AuditLog;
  /** config.uploads.ttlSeconds (DEFAULTS.uploadTtlSeconds). */
  uploadTtlSeconds: number;
  logger: Logger;
}

/**
 * Retention step 'uploads' (issue 16: "any multipart uploads left behind"): aborts the multipart
 * uploads under `objects/` initiated more than the upload TTL + 1 h ago that Conduit does not hold
 * as open (its record was lost, or the cleaner met a store that could not abort), one
 * `uploads-aborted` receipt per batch. Exactly once: the batch is journalled in Redis before its
 * aborts, and its receipt carries the journal's entry id, so a run killed anywhere is finished by
 * the next one (an abort repeated then answers NoSuchUpload, and counts as done) and the receipt is
 * written once. One run at a time (the retention job's lock): the journal is one key.
 */
export class OrphanUploadsStep implements RetentionStep {
  readonly name = 'uploads';

  constructor(private readonly deps: OrphanUploadsDeps) {}

  async run(ctx: RetentionRunContext): Promise<RetentionStepResult> {
    const result: RetentionStepResult = { deleted: 0, bytes: 0, held: {}, failed: 0 };
    const pending = await this.journal();
    if (pending) await this.finish(pending, true, ctx, result);
    const cutoff = ctx.now.getTime() - this.deps.uploadTtlSeconds * 1000 - GRACE_MS;
    let open: Set<string> | undefined;
    for await (const page of this.deps.store.listMultipartUploads(OBJECTS_PREFIX)) {
      const old = page.filter((u) => u.initiated.getTime() < cutoff);
      if (old.length === 0) continue;
      // Read once per run, and only when there is something old to compare with.
      open ??= await this.deps.uploads.openStoreUploadIds();
      const orphans = old.filter((u) => !open!.has(u.uploadId));
      for (let i = 0; i < orphans.length; i += ORPHAN_BATCH) {
        if (ctx.signal.aborted) return result;
        const batch = orphans.slice(i, i + ORPHAN_BATCH);
        await ctx.takeDeletes(batch.length);
        if (ctx.signal.aborted) return result;
        const journal: Journal = { entryId: newEntryId(), uploads: batch.map(journalled) };
        await this.deps.redis.set(this.deps.keys.orphanUploadsJournal(), JSON.stringify(journal));
        if (!(await this.finish(journal, false, ctx, result))) return result;
      }
    }
    return result;
  }

  /**
   * Aborts the journalled batch, writes its receipt, drops the journal. `resumed`: the batch was
   * journalled by a run that died, whose aborts answer NoSuchUpload now. False when the store
   * cannot abort (nothing to do until the bucket's lifecycle rule does it).
   */
  private async finish(
    journal: Journal,
    resumed: boolean,
    ctx: RetentionRunContext,
    result: RetentionStepResult,
  ): Promise<boolean> {
    const aborted: Journal['uploads'] = [];
    const failed: { key: string; uploadId: string; code: string }[] = [];
    for (const upload of journal.uploads) {
      let outcome: 'aborted' | 'absent' | 'unsupported';
      try {
        outcome = await this.deps.store.abortMultipartUpload(upload.key, upload.uploadId);
      } catch (err) {
        failed.push({ ...upload, code: (err as { code?: string }).code ?? 'ERROR' });
        continue;
      }
      if (outcome === 'unsupported') {
        this.deps.logger.warn(
          { step: this.name },
          'the object store cannot abort multipart uploads: the bucket rule AbortIncompleteMultipartUpload must',
        );
        await this.deps.redis.del(this.deps.keys.orphanUploadsJournal());
        result.failed += journal.uploads.length - aborted.length;
        return false;
      }
      // Absent in a fresh batch: aborted meanwhile by someone else, whose receipt it is.
      if (outcome === 'aborted' || resumed) aborted.push(upload);
    }
    if (aborted.length > 0) {
      await this.deps.audit.append(uploadsAborted(aborted, failed, ctx.now), journal.entryId);
    }
    await this.deps.redis.del(this.deps.keys.orphanUploadsJournal());
    result.deleted += aborted.length;
    result.failed += failed.length;
    if (failed.length > 0)
      this.deps.logger.warn({ step: this.name, failed: failed.length }, 'orphan uploads not aborted');
    return true;
  }

  private async journal(): Promise<Journal | null> {
    const text = await this.deps.redis.get(this.deps.keys.orphanUploadsJournal());
    return text ? (JSON.parse(text) as Journal) : null;
  }
}

const journalled = (u: OpenMultipartUpload): Journal['uploads'][number] => ({
  key: u.key,
  uploadId: u.uploadId,
  initiated: u.initiated.toISOString(),
});

/** The receipt of one batch: which uploads (key, store upload id, initiation), why, and the outcome. */
export function uploadsAborted(
  aborted: Journal['uploads'],
  failed: { key: string; uploadId: string; code: string }[],
  at: Date,
): AuditEntry {
  return {
    type: 'uploads-aborted',
    at: at.toISOString(),
    cause: {
      kind: 'policy',
      policy: 'uploads',
      rule: 'initiated before now - (upload TTL + 1 h), not open in Conduit',
    },
    count: aborted.length,
    uploads: aborted.map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: u.initiated })),
    outcome: {
      s3: 'aborted',
      ...(failed.length > 0 ? { failed: failed.map((f) => ({ key: f.key, uploadId: f.uploadId, code: f.code })) } : {}),
    },
  };
}
