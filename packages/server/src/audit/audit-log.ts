import type { RedisClient } from '../adapters/redis/connection.js';
import { shardOf, SHARDS, type Keys } from '../adapters/redis/keys.js';
import { defineScripts } from '../redis/script-loader.js';
import { GENESIS_HASH, canonicalJson, type AuditEntry } from '@conduit/shared';
import { newEntryId, pendingItem } from './pending.js';
import { SealStep, planSeal } from './seal.js';

/** Far longer than any reconnect-and-resend window. */
const ENTRY_ID_TTL_SECONDS = 24 * 3600;
/** Upper bound on one entry (they are small metadata records). */
const MAX_ENTRY_BYTES = 64 * 1024;
/** About this many pending items are sealed per commit, over all shards. */
const SEAL_BATCH = 500;
/** The fewest items a step reads from a shard that has some. */
const SHARD_BATCH_MIN = 20;

export interface AuditHead {
  seq: number;
  hash: string;
}

/**
 * Append-only, hash-chained audit log in Redis: record n at index n-1-baseSeq of a list, the head
 * {seq, hash} and the retention anchor {baseSeq, baseHash} beside it in one hash (format in
 * shared formats/audit-chain.ts; records up to baseSeq were dropped by audit retention). Every entry first lands on a pending list (ledger
 * scripts push theirs atomically with the transition they record) and is then sealed into the
 * chain, in order, with hashes computed by node:crypto (seal.ts).
 */
export class AuditLog {
  private readonly scripts;
  private readonly step: SealStep;
  private round: Promise<number> | undefined;
  /** The shards the next round seals. */
  private requested: Set<number> | 'all' = new Set();
  private nextRound: Promise<number> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'auditEnqueue');
    this.step = new SealStep(redis, keys);
  }

  /**
   * Appends one entry; resolves once it is in the chain. A caller that may repeat an append after a
   * crash passes the same `id` each time (newEntryId(), kept durably): the entry is added once.
   */
  async append(entry: AuditEntry, id = newEntryId()): Promise<void> {
    const item = pendingItem(id, encodeEntry(entry));
    // Entries not tied to a group spread over the shards by their random id.
    const shard = shardOf(id);
    // Once per entry id: a resend by ioredis after a lost reply adds nothing (auditEnqueue-2.lua).
    await this.scripts.auditEnqueue(
      [this.keys.auditPending(shard), this.keys.auditEntryId(shard, id)],
      [item, ENTRY_ID_TTL_SECONDS],
    );
    // Sealing takes items strictly in order, so the entry is in the chain once it is not pending.
    while ((await this.redis.lpos(this.keys.auditPending(shard), item)) !== null) await this.seal([shard]);
  }

  /**
   * Seals what is pending into the chain, on the given shards or on all of them; returns how many
   * items this call's rounds sealed (other sealers may have taken the rest). Calls while a round
   * runs share one follow-up round over every shard they asked for, which starts after the current
   * one, so it sees every item enqueued before the call.
   */
  seal(shards: readonly number[] | 'all' = 'all'): Promise<number> {
    if (shards === 'all' || this.requested === 'all') this.requested = 'all';
    else for (const shard of shards) this.requested.add(shard);
    if (!this.round) {
      this.round = this.sealRequested().finally(() => {
        this.round = undefined;
      });
      return this.round;
    }
    this.nextRound ??= this.round
      .catch(() => 0)
      .then(() => {
        this.nextRound = undefined;
        return this.seal([]);
      });
    return this.nextRound;
  }

  private async sealRequested(): Promise<number> {
    let shards = this.requested === 'all' ? [...SHARDS] : [...this.requested];
    this.requested = new Set();
    let sealed = 0;
    while (shards.length > 0) {
      // About SEAL_BATCH items per step, however many shards hold them.
      const perShard = Math.max(SHARD_BATCH_MIN, Math.ceil(SEAL_BATCH / shards.length));
      const snapshot = await this.step.snapshot(shards, perShard);
      const plan = planSeal(snapshot, new Date());
      // A lost race means another sealer advanced the head: re-read and continue from there.
      if (await this.step.commit(plan)) {
        sealed += plan.lines.length;
        shards = snapshot.shards.filter((s) => s.pending.length >= perShard).map((s) => s.shard);
      }
    }
    return sealed;
  }

  async head(): Promise<AuditHead> {
    return (await this.bounds()).head;
  }

  /**
   * The head and the anchor, read together: records 1..base.seq were dropped by audit retention
   * (lifecycle/audit-retention.ts), base.hash is the hash of the last of them (`prev` of the first
   * record kept); {0, GENESIS_HASH} when nothing was dropped.
   */
  async bounds(): Promise<AuditBounds> {
    const [seq, hash, baseSeq, baseHash] = await this.redis.hmget(this.keys.auditHead(), ...BOUNDS_FIELDS);
    return boundsOf(seq ?? null, hash ?? null, baseSeq ?? null, baseHash ?? null);
  }

  /** Entries committed but not yet sealed. */
  async pendingCount(): Promise<number> {
    const lengths = await Promise.all(SHARDS.map((shard) => this.redis.llen(this.keys.auditPending(shard))));
    return lengths.reduce((a, b) => a + b, 0);
  }

  /**
   * Raw record lines `from..to` (1-based, inclusive), in batches; records retention dropped are
   * skipped (the first line is record max(from, base + 1)). Each batch is read together with the
   * anchor it was located by; should retention drop records meanwhile, the batch is located again,
   * and should it drop the very records still to send, the generator ends early (the reader sees
   * a log that stops before the head it was told, like any truncated download).
   */
  async *lines(from: number, to: number, batch = 500): AsyncGenerator<string[]> {
    let base = (await this.bounds()).base.seq;
    for (let start = Math.max(from, base + 1); start <= to;) {
      const end = Math.min(to, start + batch - 1);
      const results = (await this.redis
        .multi()
        .hget(this.keys.auditHead(), 'baseSeq')
        .lrange(this.keys.auditLog(), start - base - 1, end - base - 1)
        .exec()) as [Error | null, unknown][];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      const nowBase = Number(results[0]![1] ?? 0);
      if (nowBase !== base) {
        base = nowBase;
        if (start <= base) return;
        continue;
      }
      yield results[1]![1] as string[];
      start = end + 1;
    }
  }
}

export interface AuditBounds {
  head: AuditHead;
  base: AuditHead;
}

const BOUNDS_FIELDS = ['seq', 'hash', 'baseSeq', 'baseHash'] as const;

function boundsOf(
  seq: string | null,
  hash: string | null,
  baseSeq: string | null,
  baseHash: string | null,
): AuditBounds {
  return {
    head: seq && hash ? { seq: Number(seq), hash } : { seq: 0, hash: GENESIS_HASH },
    base: baseSeq && baseHash ? { seq: Number(baseSeq), hash: baseHash } : { seq: 0, hash: GENESIS_HASH },
  };
}

/** The canonical body of an entry, bounded. */
export function encodeEntry(entry: AuditEntry): string {
  const body = canonicalJson(entry);
  if (Buffer.byteLength(body) > MAX_ENTRY_BYTES) throw new Error('audit entry too large');
  return body;
}
