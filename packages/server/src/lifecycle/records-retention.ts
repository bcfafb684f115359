import { randomUUID } from 'node:crypto';
import {
  endpointKey,
  formatRetentionRule,
  type AuditEntry,
  type RecordVersion,
  type RetentionRule,
} from '@conduit/shared';
import type { Logger } from 'pino';
import { encodeEntry } from '../audit/audit-log.js';
import { pendingItem } from '../audit/pending.js';
import { shardOf } from '../adapters/redis/keys.js';
import type { RecordsRetentionStore, RetentionIntent } from '../adapters/redis/records-retention.js';
import { ARCHIVE_PAGE_VERSIONS, decodePage, encodePage, pageKey } from '../records/archive/feed-pages.js';
import type { FeedPageStore } from '../records/archive/page-store.js';
import type { GroupRetention } from './group-retention.js';
import type { QuotaRefunds } from '../limits/quota-refunds.js';
import type { LegalHolds } from './legal-holds.js';
import type { ObjectEraser } from './object-eraser.js';
import { keyOf } from './object-index.js';
import type { RetentionRunContext, RetentionStep, RetentionStepResult } from './retention-step.js';

/** Versions per batch and receipt: with their value objects' keys a receipt stays under 64 KiB. */
export const RECORDS_BATCH = 200;
/** Redis tail versions read at a time. */
const TAIL_READ = 500;
/**
 * API processes stamp createdAt before the append script assigns seq, so across processes seq
 * order and time order can differ by clock skew: the tail scan stops this far past the horizon.
 */
const CLOCK_SLACK_MS = 5 * 60_000;

export interface RecordsRetentionDeps {
  store: RecordsRetentionStore;
  pages: FeedPageStore;
  eraser: Pick<ObjectEraser, 'erase'>;
  /** Gives a batch's envelope characters back to their writers' quotas once its receipt is committed. */
  refunds: Pick<QuotaRefunds, 'drain'>;
  holds: Pick<LegalHolds, 'covering'>;
  /** Each group's effective records rule (its own, else the deployment's). */
  policies: Pick<GroupRetention, 'effective'>;
  logger: Logger;
  /** Called after a receipt was left pending on a shard (the worker's sealer kicks). */
  onAuditEnqueued?: (shard: number) => void;
}

/** One group's pass: the rule, what it expires, and what this run deleted. */
interface GroupPass {
  groupId: string;
  rule: string;
  horizonMs: number;
  heads: Map<string, string>;
  /** Records with a version a legal hold keeps: their tombstones stay too. */
  heldRecords: Set<string>;
  heldIdentities: Map<string, boolean>;
  ctx: RetentionRunContext;
  result: RetentionStepResult;
}

/**
 * Records retention (docs/lifecycle.md "Records history"): deletes record versions older than the
 * group's records rule that are no longer their record's head, and a record entirely once its head
 * is a tombstone older than the rule; from the Redis feed, the archived S3 pages (rewritten under a
 * new generation, or deleted when nothing is left) and their value objects (ObjectEraser). Per
 * batch: PUT the rewritten page, then one script removes the versions from Redis and leaves the
 * batch's intent; then the S3 deletions; then one script turns the intent into the batch's
 * `records-deleted` receipt. A run killed anywhere leaves either nothing (an unreferenced new page
 * generation, rewritten by the rerun) or an intent the next run finishes first: exactly one receipt.
 */
export class RecordsRetention implements RetentionStep {
  readonly name = 'records';

  constructor(private readonly deps: RecordsRetentionDeps) {}

  async run(ctx: RetentionRunContext): Promise<RetentionStepResult> {
    const result: RetentionStepResult = { deleted: 0, bytes: 0, held: {}, failed: 0 };
    for await (const groups of this.deps.store.groups()) {
      for (const groupId of groups) {
        if (ctx.signal.aborted) return result;
        await this.runGroup(groupId, ctx, result).catch((err: unknown) => {
          result.failed += 1;
          this.deps.logger.warn({ err, groupId }, 'records retention failed for a group; retried next run');
        });
      }
    }
    return result;
  }

  /** One group: finishes a pending batch, then deletes what its rule expires. */
  async runGroup(groupId: string, ctx: RetentionRunContext, result: RetentionStepResult): Promise<void> {
    const { store, holds } = this.deps;
    const pending = await store.pendingIntent(groupId);
    if (pending) await this.finish(groupId, pending, result);
    const rule = await this.ruleOf(groupId);
    if (rule.kind !== 'age') return;
    const hold = await holds.covering({ groups: [groupId] });
    if (hold) {
      const ref = `${hold.kind}:${hold.id}`;
      result.held[ref] = (result.held[ref] ?? 0) + 1;
      return;
    }
    const { through, heads } = await store.snapshot(groupId);
    const pass: GroupPass = {
      groupId,
      rule: formatRetentionRule(rule),
      horizonMs: ctx.now.getTime() - rule.seconds * 1000,
      heads,
      heldRecords: new Set(),
      heldIdentities: new Map(),
      ctx,
      result,
    };
    // Oldest first, so a record's held versions are seen before its tombstone.
    for (let first = 1; first <= through; first += ARCHIVE_PAGE_VERSIONS) {
      if (ctx.signal.aborted) return;
      await this.expirePage(pass, through, first);
    }
    await this.expireTail(pass, through);
  }

  private async ruleOf(groupId: string): Promise<RetentionRule> {
    return (await this.deps.policies.effective(groupId, 'records')).rule;
  }

  /** Rewrites one archived page without its expired versions, a batch at a time. */
  private async expirePage(pass: GroupPass, through: number, first: number): Promise<void> {
    const { store, pages } = this.deps;
    const last = first + ARCHIVE_PAGE_VERSIONS - 1;
    for (;;) {
      const { raw, state } = await store.pageState(pass.groupId, first);
      if (state.count === 0) return;
      const key = pageKey(pass.groupId, first, last, state.gen);
      const body = await pages.get(key);
      if (!body) throw new Error(`Archived feed page ${key} is missing.`);
      const versions = decodePage(body, first, last, state.count);
      const expired = (await this.select(pass, versions)).slice(0, RECORDS_BATCH);
      if (expired.length === 0) return;
      const gone = new Set(expired.map((v) => v.versionId));
      const kept = versions.filter((v) => !gone.has(v.versionId));
      const next = { gen: state.gen + 1, count: kept.length };
      const written = pageKey(pass.groupId, first, last, next.gen);
      // Before the script: the index names the new generation only once it is stored.
      if (kept.length > 0) await pages.put(written, encodePage(kept.map((v) => JSON.stringify(v))));
      const trash = kept.length > 0 ? [key] : [key, written];
      const outcome = await this.apply(
        pass,
        through,
        { first, raw, next },
        expired,
        trash,
        kept.length > 0 ? written : '',
      );
      if (outcome !== 'applied') return;
      // Versions still expired (beyond one batch) go in the next generation.
      if (expired.length < RECORDS_BATCH) return;
    }
  }

  /** Deletes expired versions of the Redis tail (above the watermark), batch by batch. */
  private async expireTail(pass: GroupPass, through: number): Promise<void> {
    let after = through;
    let batch: RecordVersion[] = [];
    for (;;) {
      if (pass.ctx.signal.aborted) return;
      const versions = await this.deps.store.tail(pass.groupId, after, TAIL_READ);
      const past = versions.findIndex((v) => Date.parse(v.createdAt) > pass.horizonMs + CLOCK_SLACK_MS);
      const scanned = past < 0 ? versions : versions.slice(0, past);
      batch.push(...(await this.select(pass, scanned)));
      while (batch.length >= RECORDS_BATCH || (batch.length > 0 && scanned.length < TAIL_READ)) {
        if (pass.ctx.signal.aborted) return;
        const outcome = await this.apply(pass, through, null, batch.slice(0, RECORDS_BATCH), [], undefined);
        if (outcome !== 'applied') return;
        batch = batch.slice(RECORDS_BATCH);
      }
      if (scanned.length < TAIL_READ) return;
      after = scanned.at(-1)!.seq;
    }
  }

  /**
   * The versions the rule expires: older than the horizon and not their record's head, or the
   * tombstone head of a record none of whose versions a hold keeps. A version whose writer is
   * under a legal hold stays (and keeps its record's tombstone).
   */
  private async select(pass: GroupPass, versions: readonly RecordVersion[]): Promise<RecordVersion[]> {
    const out: RecordVersion[] = [];
    for (const v of versions) {
      if (Date.parse(v.createdAt) >= pass.horizonMs) continue;
      const isHead = pass.heads.get(v.recordId) === v.versionId;
      if (isHead && !v.deleted) continue;
      const hold = await this.identityHold(pass, v.sender.identity);
      if (hold) {
        pass.heldRecords.add(v.recordId);
        pass.result.held[hold] = (pass.result.held[hold] ?? 0) + 1;
        continue;
      }
      if (isHead && pass.heldRecords.has(v.recordId)) continue;
      out.push(v);
    }
    return out;
  }

  private async identityHold(pass: GroupPass, identity: string): Promise<string | null> {
    if (!pass.heldIdentities.has(identity)) {
      pass.heldIdentities.set(identity, (await this.deps.holds.covering({ identities: [identity] })) !== null);
    }
    return pass.heldIdentities.get(identity) ? `identity:${identity}` : null;
  }

  /** Phase 1 of a batch, then its S3 deletions and receipt; 'stale' when the group moved meanwhile. */
  private async apply(
    pass: GroupPass,
    through: number,
    page: Parameters<RecordsRetentionStore['expire']>[2],
    expired: readonly RecordVersion[],
    trash: string[],
    pageWritten: string | undefined,
  ): Promise<'applied' | 'stale'> {
    const objects = expired.filter((v) => v.objectId !== null);
    await pass.ctx.takeDeletes(expired.length + objects.length + trash.length);
    const intent: RetentionIntent = {
      id: randomUUID(),
      rule: pass.rule,
      versions: expired.map((v) => ({ recordId: v.recordId, versionId: v.versionId, seq: v.seq })),
      objects: objects.map((v) => ({
        objectId: v.objectId!,
        sender: endpointKey(v.sender),
        pointerId: v.pointerId,
        size: v.size,
        createdMs: Date.parse(v.createdAt),
      })),
      ...(pageWritten === undefined ? {} : { pageWritten }),
      trash,
      envelopes: envelopesByWriter(expired),
    };
    const outcome = await this.deps.store.expire(pass.groupId, through, page, intent);
    if (typeof outcome !== 'number') {
      // Another worker or the compactor moved the group: the next run reads it again.
      this.deps.logger.info({ groupId: pass.groupId, outcome }, 'records retention batch skipped; retried next run');
      return 'stale';
    }
    for (const v of expired) if (v.deleted) pass.heads.delete(v.recordId);
    await this.finish(pass.groupId, intent, pass.result);
    return 'applied';
  }

  /**
   * Phases 2 and 3 of a batch already removed from Redis (also a pending one left by a killed
   * run): deletes the replaced page and the value objects, prunes history lists, then commits the
   * receipt. Every step is idempotent; an S3 refusal leaves the intent for the next run.
   */
  private async finish(groupId: string, intent: RetentionIntent, result: RetentionStepResult): Promise<void> {
    const { store, pages, eraser } = this.deps;
    await pages.delete(intent.trash);
    const objects = intent.objects.map((o) => ({ groupId, state: 'record' as const, ...o }));
    const erased = await eraser.erase(groupId, objects, { kind: 'policy', policy: 'records', rule: intent.rule });
    if (erased.failed.length > 0) throw new Error(`S3 refused to delete ${erased.failed.length} record objects.`);
    await store.pruneHistories(groupId);
    const receipt = recordsDeleted(groupId, intent, erased.held, new Date());
    if (!(await store.commit(groupId, intent, pendingItem(intent.id, receipt)))) return;
    this.deps.onAuditEnqueued?.(shardOf(groupId));
    await this.deps.refunds.drain(shardOf(groupId));
    result.deleted += intent.versions.length;
    result.bytes += intent.objects.reduce((sum, o) => sum + o.size, 0);
  }
}

/** Envelope characters per writer: what their quotas counted for these versions. */
function envelopesByWriter(versions: readonly RecordVersion[]): [string, number][] {
  const byWriter = new Map<string, number>();
  for (const v of versions) byWriter.set(v.sender.identity, (byWriter.get(v.sender.identity) ?? 0) + v.envelope.length);
  return [...byWriter];
}

/** The receipt of one batch: which versions, the rule, and what each store did (never content). */
export function recordsDeleted(groupId: string, intent: RetentionIntent, objectsHeld: number, at: Date): string {
  const entry: AuditEntry = {
    type: 'records-deleted',
    at: at.toISOString(),
    groupId,
    cause: { kind: 'policy', policy: 'records', rule: intent.rule },
    rule: intent.rule,
    count: intent.versions.length,
    versions: intent.versions.map((v) => ({ ...v })),
    objects: intent.objects.map((o) => ({ key: keyOf({ groupId, objectId: o.objectId }), size: o.size })),
    outcome: {
      redis: 'deleted',
      ...(intent.pageWritten === undefined
        ? {}
        : { archive: intent.pageWritten === '' ? 'page-deleted' : 'page-rewritten', pagesDeleted: intent.trash }),
      objects: objectsHeld > 0 ? `deleted except ${objectsHeld} held` : 'deleted',
    },
  };
  return encodeEntry(entry);
}
