import type { Redis } from 'ioredis';
import type { Keys } from '../adapters/redis/keys.js';
import { AuditSealReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import { GENESIS_HASH, recordLine, sha256Hex, type AuditEntry } from '@conduit/shared';
import { parsePendingItem } from './pending.js';

/**
 * One optimistic sealing step: read the chain head and the oldest pending items together, build
 * their record lines and hashes in Node (node:crypto), then commit with a script that appends
 * them and removes exactly those items from the pending list only if the head is still the one
 * read and the items are still first in line. A commit that loses a race changes nothing (the
 * caller re-reads and goes on from the new head), so concurrent sealers in any number of
 * processes can neither fork the chain nor seal an item twice; a sealer that dies before or after
 * its commit leaves every item either pending or sealed, never both.
 */
export interface SealSnapshot {
  seq: number;
  hash: string;
  /** The oldest pending items, in order. */
  pending: string[];
}

export interface SealPlan extends SealSnapshot {
  /** One record line per pending item, chained from the snapshot's head. */
  lines: string[];
  /** SHA-256 of the last line: the new head. */
  head: string;
}

/** Builds the record lines for a snapshot (pure; exported so tests can stage races). */
export function planSeal(snapshot: SealSnapshot, now: Date): SealPlan {
  let prev = snapshot.hash;
  let seq = snapshot.seq;
  const lines = snapshot.pending.map((item) => {
    seq += 1;
    const line = recordLine(parsePendingItem(item) ?? rejected(item, now), prev, seq);
    prev = sha256Hex(line);
    return line;
  });
  return { ...snapshot, lines, head: prev };
}

/**
 * An item this server did not write is not sealed as-is (it would break the chain) nor dropped
 * silently: the chain records that it was seen, by hash only (its content is unknown).
 */
const rejected = (item: string, now: Date): AuditEntry => ({
  type: 'audit-entry-rejected',
  at: now.toISOString(),
  sha256: sha256Hex(item),
});

export class AuditChainCorruptError extends Error {
  constructor() {
    super('The audit chain list and its head disagree; sealing stopped (entries stay pending).');
    this.name = 'AuditChainCorruptError';
  }
}

export class SealStep {
  private readonly scripts;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'auditSeal');
  }

  /** Head and the oldest `batch` pending items, read atomically (MULTI). */
  async snapshot(batch: number): Promise<SealSnapshot> {
    const results = (await this.redis
      .multi()
      .hmget(this.keys.auditHead(), 'seq', 'hash')
      .lrange(this.keys.auditPending(), 0, batch - 1)
      .exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const [[seq, hash], pending] = results.map(([, value]) => value) as [[string | null, string | null], string[]];
    return seq && hash ? { seq: Number(seq), hash, pending } : { seq: 0, hash: GENESIS_HASH, pending };
  }

  /** True when the plan's lines are now the chain's tail; false when another sealer moved first. */
  async commit(plan: SealPlan): Promise<boolean> {
    if (plan.pending.length === 0) return true;
    const code = await this.scripts.auditSeal(
      [this.keys.auditLog(), this.keys.auditHead(), this.keys.auditPending()],
      [plan.seq, plan.hash, plan.pending.length, plan.head, GENESIS_HASH, ...plan.pending, ...plan.lines],
    );
    if (code === AuditSealReply.ChainCorrupt) throw new AuditChainCorruptError();
    return code > 0;
  }
}
