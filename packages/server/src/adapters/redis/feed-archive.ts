import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { recordKeys } from './records.js';
import { ArchiveFeedPageReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/**
 * The Redis side of the feed archive (records/archive/): how far a group's feed was moved to S3,
 * the stored JSON of a seq range, and the compare-and-set that moves the watermark
 * (archiveFeedPage-5.lua).
 */
export class FeedArchiveIndex {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'archiveFeedPage');
  }

  /** The last archived seq (0: none) and the feed's last seq. */
  async state(groupId: string): Promise<{ through: number; last: number }> {
    const k = recordKeys(this.keys, groupId);
    const [through, last] = await Promise.all([this.redis.hget(k.archive, 'through'), this.redis.get(k.seq)]);
    return { through: Number(through ?? 0), last: Number(last ?? 0) };
  }

  /** The stored version JSON of seqs first..last, in order. */
  async range(groupId: string, first: number, last: number): Promise<string[]> {
    return this.redis.zrangebyscore(recordKeys(this.keys, groupId).feed, first, last);
  }

  /**
   * Moves the watermark from `from` to `to` over a stored page of `count` versions (`state`: its
   * archive index entry, '' for a full page); 'moved' when someone else already moved it,
   * 'changed' when the range no longer holds `count` versions (records retention removed some).
   */
  async advance(
    groupId: string,
    from: number,
    to: number,
    count: number,
    state = '',
  ): Promise<number | 'moved' | 'changed'> {
    const k = recordKeys(this.keys, groupId);
    const n = await this.scripts.archiveFeedPage(
      [k.feed, k.heads, k.versions, k.pointers, k.archive],
      [from, to, count, state],
    );
    if (n === ArchiveFeedPageReply.WatermarkMoved) return 'moved';
    return n === ArchiveFeedPageReply.RangeChanged ? 'changed' : n;
  }

  /** Every ready group, in batches (the groups that can hold records). */
  async *groups(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(this.keys.readyGroups(), cursor, 'COUNT', 500);
      if (batch.length > 0) yield batch;
      cursor = next;
    } while (cursor !== '0');
  }
}
