import { formatRetentionRule, parseEndpointKey, type RetentionRule } from '@conduit/shared';
import { SHARDS } from '../adapters/redis/keys.js';
import type { PointerLedger } from '../adapters/redis/pointers.js';
import type { GroupRetention } from './group-retention.js';
import type { LegalHolds } from './legal-holds.js';
import { ERASE_BATCH, type DeletionCause, type ErasureOutcome, type ObjectEraser } from './object-eraser.js';
import type { IndexedObject, ObjectIndex } from './object-index.js';
import type { RetentionRunContext, RetentionStep, RetentionStepResult } from './retention-step.js';

export interface FilesRetentionSettings {
  /** A staged object older than this was never bound and can no longer be (upload TTL + presign TTL + 1 h). */
  stagingSeconds: number;
  /** A pointer whose ledger entry expired left 'pending' at least this long ago (ledger retention − max pending age). */
  expiredLedgerSeconds: number;
  /** The longest a pointer stays 'pending' (the sweeper's pointer maximum age). */
  maxPendingSeconds: number;
  /** Groups worked on at once (each group's batches stay in order). */
  concurrency: number;
}

export interface FilesRetentionDeps {
  index: ObjectIndex;
  eraser: ObjectEraser;
  holds: LegalHolds;
  policies: GroupRetention;
  ledger: Pick<PointerLedger, 'leftPendingAt'>;
  settings: FilesRetentionSettings;
}

/** Index entries read per page: a few DeleteObjects requests' worth. */
const PAGE = 2 * ERASE_BATCH;

/**
 * The retention job's files step (docs/lifecycle.md#the-retention-job): per group with indexed
 * objects (every shard), the effective files rule decides what expired: `age` - file objects handed
 * out before now − age; `delivered+grace` - file objects whose pointer left 'pending' more than the
 * grace ago (never one still pending); `keep` - none. Whatever the rule, staged objects older than
 * the staging window are orphaned uploads and go too. Records objects are the records step's.
 * Everything is erased through the ObjectEraser (holds skipped, one receipt per batch).
 */
export class FilesRetentionStep implements RetentionStep {
  readonly name = 'files';

  constructor(private readonly deps: FilesRetentionDeps) {}

  async run(ctx: RetentionRunContext): Promise<RetentionStepResult> {
    const result: RetentionStepResult = { deleted: 0, bytes: 0, held: {}, failed: 0 };
    const groups: string[] = [];
    for (const shard of SHARDS) groups.push(...(await this.deps.index.groupsOfShard(shard)));
    let next = 0;
    const lane = async () => {
      while (next < groups.length && !ctx.signal.aborted) await this.group(groups[next++]!, ctx, result);
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, this.deps.settings.concurrency) }, lane));
    } catch (err) {
      // Shutdown while waiting for the delete budget: what was done is counted, the rest is the next run's.
      if (!ctx.signal.aborted) throw err;
    }
    return result;
  }

  private async group(groupId: string, ctx: RetentionRunContext, result: RetentionStepResult): Promise<void> {
    const { rule, source } = await this.deps.policies.effective(groupId, 'files');
    const now = ctx.now.getTime();
    const stagingBefore = now - this.deps.settings.stagingSeconds * 1000;
    // Nothing handed out after this expires now: a pointer leaves 'pending' after its object was created.
    const ruleBefore = rule.kind === 'age' ? now - rule.seconds * 1000 : now - graceOf(rule) * 1000;
    const horizon = rule.kind === 'keep' ? stagingBefore : Math.max(stagingBefore, ruleBefore);
    const policyCause: DeletionCause = { kind: 'policy', policy: source, rule: formatRetentionRule(rule) };
    const stagingCause: DeletionCause = {
      kind: 'policy',
      policy: 'staging',
      rule: formatRetentionRule({ kind: 'age', seconds: this.deps.settings.stagingSeconds }),
    };
    // Kept objects stay at the head of the index: skip past them (recounted, as another worker may erase too).
    let offset = 0;
    for (;;) {
      if (ctx.signal.aborted) return;
      const page = await this.deps.index.olderThan(groupId, horizon, PAGE, offset);
      if (page.length === 0) return;
      const staged = page.filter((o) => o.state === 'staged' && o.createdMs < stagingBefore);
      const files = await this.expiredFiles(page, rule, now);
      await this.erase(groupId, staged, stagingCause, ctx, result);
      await this.erase(groupId, files, policyCause, ctx, result);
      offset += await this.deps.index.stillIndexed(
        groupId,
        page.map((o) => o.objectId),
      );
      if (page.length < PAGE) return;
    }
  }

  /** The page's file objects the rule says expired (records and staged objects are never). */
  private async expiredFiles(
    page: readonly IndexedObject[],
    rule: RetentionRule,
    now: number,
  ): Promise<IndexedObject[]> {
    const files = page.filter((o) => o.state === 'file');
    if (rule.kind === 'keep') return [];
    if (rule.kind === 'age') return files.filter((o) => o.createdMs < now - rule.seconds * 1000);
    const graceMs = rule.graceSeconds * 1000;
    const { expiredLedgerSeconds, stagingSeconds, maxPendingSeconds } = this.deps.settings;
    const expired = await Promise.all(
      files.map(async (o) => {
        if (!o.pointerId) return false;
        const left = await this.deps.ledger.leftPendingAt(o.pointerId, o.groupId);
        if (left === 'pending') return false;
        if (left !== null) return left < now - graceMs;
        // The entry expired: it left 'pending' at least expiredLedgerSeconds ago, and at the latest
        // a staging window plus the longest pending life after the object was handed out.
        return (
          expiredLedgerSeconds * 1000 >= graceMs ||
          o.createdMs + (stagingSeconds + maxPendingSeconds) * 1000 < now - graceMs
        );
      }),
    );
    return files.filter((_, i) => expired[i]);
  }

  private async erase(
    groupId: string,
    objects: readonly IndexedObject[],
    cause: DeletionCause,
    ctx: RetentionRunContext,
    result: RetentionStepResult,
  ): Promise<void> {
    for (let i = 0; i < objects.length && !ctx.signal.aborted; i += ERASE_BATCH) {
      const batch = objects.slice(i, i + ERASE_BATCH);
      await ctx.takeDeletes(batch.length);
      const outcome = await this.deps.eraser.erase(groupId, batch, cause);
      result.deleted += outcome.deleted;
      result.bytes += outcome.bytes;
      result.failed += outcome.failed.length;
      if (outcome.held > 0) await this.countHeld(groupId, batch, outcome, result.held);
    }
  }

  /** Attributes what a hold kept to the hold (`group:<id>` or `identity:<id>`). */
  private async countHeld(
    groupId: string,
    batch: readonly IndexedObject[],
    outcome: ErasureOutcome,
    held: Record<string, number>,
  ): Promise<void> {
    const add = (key: string, n: number) => (held[key] = (held[key] ?? 0) + n);
    if (await this.deps.holds.covering({ groups: [groupId] })) return void add(`group:${groupId}`, outcome.held);
    const bySender = new Map<string, number>();
    for (const o of batch) {
      if (o.sender === '') continue;
      const identity = parseEndpointKey(o.sender).identity;
      bySender.set(identity, (bySender.get(identity) ?? 0) + 1);
    }
    for (const [identity, n] of bySender) {
      if (await this.deps.holds.covering({ identities: [identity] })) add(`identity:${identity}`, n);
    }
  }
}

const graceOf = (rule: RetentionRule): number => (rule.kind === 'delivered' ? rule.graceSeconds : 0);
