import {
  GENESIS_HASH,
  formatRetentionRule,
  recordLine,
  sha256Hex,
  type AuditEntry,
  type AuditValue,
  type RetentionRule,
} from '@conduit/shared';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';
import { AuditChainCorruptError } from '../audit/seal.js';
import { AuditDropReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import type { LegalHold, LegalHolds } from './legal-holds.js';
import type { RetentionRunContext, RetentionStep, RetentionStepResult } from './retention-step.js';

/** Records read per look at the chain's oldest end. */
const PAGE = 500;
/** Records dropped per script call (one `audit-trimmed` record each): LTRIM stays short. */
export const AUDIT_DROP_BATCH = 10_000;
/** Commits lost to sealers in a row before the step leaves the rest to the next run. */
const MAX_RACES = 20;

/** The anchor a scan located the chain's records by. */
interface ChainView {
  baseSeq: number;
}

/**
 * Audit log retention (docs/lifecycle.md#audit-log-retention), the retention step `audit`: drops
 * the chain's records whose entry `at` is older than the rule, oldest first, and stops at the first
 * record that is younger, unreadable, or names a subject under legal hold (a prefix is all a chain
 * can lose and stay verifiable). Each drop moves the anchor (seq and hash of the last record
 * dropped) and appends an `audit-trimmed` record in the same script (auditDropOldest-2.lua), so the
 * trim is on record exactly once and a sealer committing meanwhile makes one of the two re-read.
 * This is what removes the identities that entries name once they are past the window.
 */
export class AuditRetention implements RetentionStep {
  readonly name = 'audit';
  private readonly scripts;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      keys: Keys;
      holds: Pick<LegalHolds, 'list'>;
      /** The deployment's rule: config.retention?.audit ?? DEFAULT_RETENTION.audit. */
      rule: RetentionRule;
    },
  ) {
    this.scripts = defineScripts(deps.redis, 'auditDropOldest');
  }

  async run(context: RetentionRunContext): Promise<RetentionStepResult> {
    const result: RetentionStepResult = { deleted: 0, bytes: 0, held: {}, failed: 0 };
    const { rule } = this.deps;
    if (rule.kind !== 'age') return result; // `keep` (and `delivered+`, which audit does not accept)
    const cutoff = context.now.getTime() - rule.seconds * 1000;
    const covers = holdMatcher(await this.deps.holds.list());
    let races = 0;
    while (!context.signal.aborted && races < MAX_RACES) {
      const scan = await this.expiredPrefix(cutoff, covers);
      if (scan.held) result.held[scan.held] = 1;
      if (scan.lines.length === 0) break;
      await context.takeDeletes(scan.lines.length);
      const code = await this.drop(scan.view, scan.lines, context.now);
      if (code === AuditDropReply.ChainCorrupt) throw new AuditChainCorruptError();
      if (code === AuditDropReply.Raced) {
        races += 1;
        continue;
      }
      races = 0;
      result.deleted += scan.lines.length;
      result.bytes += scan.lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
      if (scan.lines.length < AUDIT_DROP_BATCH) break;
    }
    return result;
  }

  /**
   * The oldest records to drop (at most AUDIT_DROP_BATCH), read page by page, each page with the
   * anchor it was located by (MULTI); a page whose anchor moved (another run dropped records)
   * starts the scan over.
   */
  private async expiredPrefix(
    cutoff: number,
    covers: (entry: AuditValue) => string | null,
  ): Promise<{ view: ChainView; lines: string[]; held?: string }> {
    for (;;) {
      let view: ChainView | undefined;
      const lines: string[] = [];
      let moved = false;
      while (lines.length < AUDIT_DROP_BATCH && !moved) {
        const { read, page } = await this.page(lines.length);
        moved = view !== undefined && view.baseSeq !== read.baseSeq;
        if (moved) break;
        view = read;
        for (const line of page) {
          const entry = entryOf(line);
          if (!entry || !(Date.parse(entry.at) < cutoff)) return { view, lines };
          const held = covers(entry);
          if (held) return { view, lines, held };
          lines.push(line);
        }
        if (page.length < PAGE) return { view, lines };
      }
      if (!moved) return { view: view!, lines };
    }
  }

  /** PAGE records from the `start`th kept one, with the anchor read at the same time. */
  private async page(start: number): Promise<{ read: ChainView; page: string[] }> {
    const { redis, keys } = this.deps;
    const results = (await redis
      .multi()
      .hget(keys.auditHead(), 'baseSeq')
      .lrange(keys.auditLog(), start, start + PAGE - 1)
      .exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    return { read: { baseSeq: Number(results[0]![1] ?? 0) }, page: results[1]![1] as string[] };
  }

  /** Drops the lines (the chain's oldest) and appends their `audit-trimmed` record; the script's reply. */
  private async drop(scanned: ChainView, lines: readonly string[], now: Date): Promise<number> {
    const { redis, keys, rule } = this.deps;
    // The head as it is now (sealers keep appending while the scan ran); the anchor as scanned.
    const [seq, hash] = await redis.hmget(keys.auditHead(), 'seq', 'hash');
    if (!seq || !hash) return AuditDropReply.ChainCorrupt; // records to drop, yet no head
    const last = lines[lines.length - 1]!;
    const throughSeq = scanned.baseSeq + lines.length;
    const throughHash = sha256Hex(last);
    const entry: AuditEntry = {
      type: 'audit-trimmed',
      at: now.toISOString(),
      throughSeq,
      throughHash,
      count: lines.length,
      rule: formatRetentionRule(rule),
    };
    const record = recordLine(entry, hash, Number(seq) + 1);
    return this.scripts.auditDropOldest(
      [keys.auditLog(), keys.auditHead()],
      [seq, hash, scanned.baseSeq, GENESIS_HASH, lines.length, last, throughHash, record, sha256Hex(record)],
    );
  }
}

/** The entry of a record line, or null when the line is not a readable record. */
function entryOf(line: string): (AuditEntry & { at: string }) | null {
  try {
    const record = JSON.parse(line) as { entry?: AuditEntry };
    return record.entry && typeof record.entry.at === 'string' ? record.entry : null;
  } catch {
    return null;
  }
}

/**
 * Which hold (`<kind>:<id>`) an entry names, if any: a string anywhere in it that is a held group
 * id or identity, or an endpoint key (`<identity>:<deviceId>`) of a held identity.
 */
function holdMatcher(holds: readonly LegalHold[]): (entry: AuditValue) => string | null {
  if (holds.length === 0) return () => null;
  const refs = new Map(holds.map((h) => [h.id, `${h.kind}:${h.id}`]));
  const endpointOf = (value: string): string | undefined => {
    const colon = value.indexOf(':');
    return colon > 0 && refs.get(value.slice(0, colon))?.startsWith('identity:')
      ? refs.get(value.slice(0, colon))
      : undefined;
  };
  const visit = (value: AuditValue): string | null => {
    if (typeof value === 'string') return refs.get(value) ?? endpointOf(value) ?? null;
    if (value === null || typeof value !== 'object') return null;
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      const hit = visit(v);
      if (hit) return hit;
    }
    return null;
  };
  return visit;
}
