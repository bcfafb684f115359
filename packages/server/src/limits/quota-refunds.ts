import type { RedisClient } from '../adapters/redis/connection.js';
import { SHARDS, type Keys } from '../adapters/redis/keys.js';
import { defineScripts } from '../redis/script-loader.js';

/** Refund items taken from an outbox per read. */
const DRAIN_PAGE = 100;
/** Applied refund ids are remembered this long: far longer than a drainer's crash-and-retry. */
const APPLIED_TTL_SECONDS = 24 * 3600;

/** Bytes of erased objects to give back, per uploader identity: one item per erased batch. */
export interface RefundItem {
  id: string;
  refunds: [identity: string, bytes: number][];
}

/**
 * Gives erased objects' bytes back to their uploaders' stored-bytes quotas. The eraser leaves one
 * item per batch on its shard's outbox in the same script as the batch's receipt (exactly once);
 * draining applies each identity's refund in that identity's slot, once per item id
 * (quotaRefund-2.lua), then drops the item. Cross-slot, so not one step: a drainer killed between
 * the two leaves the item for the next one, which applies nothing twice. The eraser drains right
 * after each batch; the worker's sweep drains what a crash left.
 */
export class QuotaRefunds {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'quotaRefund');
  }

  /** Applies and drops every item on the shard's outbox; returns how many items were drained. */
  async drain(shard: number): Promise<number> {
    const outbox = this.keys.quotaRefunds(shard);
    let drained = 0;
    for (;;) {
      const items = await this.redis.lrange(outbox, 0, DRAIN_PAGE - 1);
      for (const raw of items) {
        await this.apply(parseItem(raw));
        // Another drainer may have dropped it already: LREM then removes nothing.
        await this.redis.lrem(outbox, 1, raw);
        drained += 1;
      }
      if (items.length < DRAIN_PAGE) return drained;
    }
  }

  /** Drains every shard's outbox. */
  async drainAll(): Promise<number> {
    let drained = 0;
    for (const shard of SHARDS) drained += await this.drain(shard);
    return drained;
  }

  private async apply(item: RefundItem | null): Promise<void> {
    if (!item) return;
    for (const [identity, bytes] of item.refunds) {
      await this.scripts.quotaRefund(
        [this.keys.quotaUsage(identity), this.keys.quotaRefunded(identity)],
        [item.id, bytes, APPLIED_TTL_SECONDS],
      );
    }
  }
}

/** The refund item of one erased batch: the counted bytes summed per uploader ('' when none). */
export function refundItem(id: string, objects: readonly { uploader: string | null; bytes?: number }[]): string {
  const byIdentity = new Map<string, number>();
  for (const o of objects) {
    if (o.uploader === null || !o.bytes || o.bytes <= 0) continue;
    byIdentity.set(o.uploader, (byIdentity.get(o.uploader) ?? 0) + o.bytes);
  }
  if (byIdentity.size === 0) return '';
  const item: RefundItem = { id, refunds: [...byIdentity].sort(([a], [b]) => (a < b ? -1 : 1)) };
  return JSON.stringify(item);
}

/** An item this module wrote; anything else (never expected) is dropped rather than retried forever. */
function parseItem(raw: string): RefundItem | null {
  try {
    const item = JSON.parse(raw) as RefundItem;
    const valid =
      typeof item.id === 'string' &&
      Array.isArray(item.refunds) &&
      item.refunds.every(([identity, bytes]) => typeof identity === 'string' && Number.isSafeInteger(bytes));
    return valid ? item : null;
  } catch {
    return null;
  }
}
