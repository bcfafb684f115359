import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';
import { AuditSealReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import { GENESIS_HASH, recordLine, sha256Hex, type AuditEntry } from '@conduit/shared';
import { parsePendingItem } from './pending.js';

/**
 * One optimistic sealing step over the shards' pending lists: read the oldest pending items of
 * each, then the chain head and which of those items the chain already holds (together, MULTI);
 * build the record lines and hashes of the others in Node (node:crypto); commit them with one
 * script that appends them only if the head is still the one read; then take each shard's items off
 * its pending list if they are still first in line. The chain and the pending lists are in
 * different slots on a Redis Cluster, so these writes are separate: a sealer that dies between
 * them leaves items that are both sealed and pending, and the next snapshot sees them as sealed and
 * only takes them off. A commit that loses a race changes nothing (the caller re-reads and goes on
 * from the new head), so concurrent sealers in any number of processes can neither fork the chain
 * nor seal an item twice.
 */
export interface SealSnapshot {
  seq: number;
  hash: string;
  /** Per shard read: its oldest pending items, in order. */
  shards: { shard: number; pending: string[] }[];
  /** Per pending item, shards in order: already in the chain. */
  sealed: boolean[];
}

export interface SealPlan extends SealSnapshot {
  /** The SHA-256 of each item to seal (those not sealed yet), in order. */
  items: string[];
  /** One record line per item to seal, chained from the snapshot's head. */
  lines: string[];
  /** SHA-256 of the last line: the new head. */
  head: string;
}

/** How many sealed items the chain remembers: far more than can wait between commit and trim. */
const SEALED_MEMORY = 10_000;

/** Builds the record lines for a snapshot (pure; exported so tests can stage races). */
export function planSeal(snapshot: SealSnapshot, now: Date): SealPlan {
  let prev = snapshot.hash;
  let seq = snapshot.seq;
  const items: string[] = [];
  const lines: string[] = [];
  snapshot.shards
    .flatMap((s) => s.pending)
    .forEach((item, i) => {
      if (snapshot.sealed[i]) return;
      seq += 1;
      const line = recordLine(parsePendingItem(item) ?? rejected(item, now), prev, seq);
      prev = sha256Hex(line);
      items.push(sha256Hex(item));
      lines.push(line);
    });
  return { ...snapshot, items, lines, head: prev };
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
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'auditSeal', 'auditTrim');
  }

  /** Up to `batch` oldest pending items of each shard, then the head and their sealed flags (MULTI). */
  async snapshot(shards: readonly number[], batch: number): Promise<SealSnapshot> {
    const read = await Promise.all(
      shards.map(async (shard) => ({
        shard,
        pending: await this.redis.lrange(this.keys.auditPending(shard), 0, batch - 1),
      })),
    );
    const items = read.flatMap((r) => r.pending);
    const tx = this.redis.multi().hmget(this.keys.auditHead(), 'seq', 'hash');
    if (items.length > 0) tx.zmscore(this.keys.auditSealed(), ...items.map(sha256Hex));
    const results = (await tx.exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const [seq, hash] = results[0]![1] as [string | null, string | null];
    const scores = (results[1]?.[1] ?? []) as (string | null)[];
    const sealed = items.map((_, i) => scores[i] != null);
    const nonEmpty = read.filter((r) => r.pending.length > 0);
    return seq && hash
      ? { seq: Number(seq), hash, shards: nonEmpty, sealed }
      : { seq: 0, hash: GENESIS_HASH, shards: nonEmpty, sealed };
  }

  /** True when the plan's lines are now the chain's tail; false when another sealer moved first. */
  async commit(plan: SealPlan): Promise<boolean> {
    if (plan.shards.length === 0) return true;
    if (plan.lines.length > 0) {
      const code = await this.scripts.auditSeal(
        [this.keys.auditLog(), this.keys.auditHead(), this.keys.auditSealed()],
        [plan.seq, plan.hash, plan.lines.length, plan.head, GENESIS_HASH, SEALED_MEMORY, ...plan.items, ...plan.lines],
      );
      if (code === AuditSealReply.ChainCorrupt) throw new AuditChainCorruptError();
      if (code <= 0) return false;
    }
    await Promise.all(
      plan.shards.map(({ shard, pending }) => this.scripts.auditTrim([this.keys.auditPending(shard)], pending)),
    );
    return true;
  }
}
