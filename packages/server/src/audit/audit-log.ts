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
 * Append-only, hash-chained audit log in Redis: record n at index n-1 of a list, the head
 * {seq, hash} beside it (format in chain.ts). Every entry first lands on a pending list (ledger
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
    const [seq, hash] = await this.redis.hmget(this.keys.auditHead(), 'seq', 'hash');
    return seq && hash ? { seq: Number(seq), hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Entries committed but not yet sealed. */
  async pendingCount(): Promise<number> {
    const lengths = await Promise.all(SHARDS.map((shard) => this.redis.llen(this.keys.auditPending(shard))));
    return lengths.reduce((a, b) => a + b, 0);
  }

  /** Raw record lines `from..to` (1-based, inclusive), in batches. */
  async *lines(from: number, to: number, batch = 500): AsyncGenerator<string[]> {
    for (let start = Math.max(1, from); start <= to; start += batch) {
      const end = Math.min(to, start + batch - 1);
      yield await this.redis.lrange(this.keys.auditLog(), start - 1, end - 1);
    }
  }
}

/** The canonical body of an entry, bounded. */
export function encodeEntry(entry: AuditEntry): string {
  const body = canonicalJson(entry);
  if (Buffer.byteLength(body) > MAX_ENTRY_BYTES) throw new Error('audit entry too large');
  return body;
}
