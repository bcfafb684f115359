import { MAX_RETIRED_CARDS, RetiredCard, type RawCardModel } from '@conduit/shared';
import { cardIdOf } from '../virgil/virgil-directory-admin.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './connection.js';

/**
 * A deleted identity's cards, kept before the directory revoked them (docs/lifecycle.md "Kept
 * files of a deleted identity"): one hash per identity, card id -> {rawCard, revokedAt}. Public
 * keys the directory published before, so no secret; the SDK checks them itself. A deletion rerun
 * after a crash keeps the first time (HSETNX): an earlier revokedAt only narrows what is accepted.
 */
export class RetiredCards {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<Keys, 'retiredCards'>,
  ) {}

  /** Keeps the newest MAX_RETIRED_CARDS of `cards` (by their signed created_at) as revoked at `at`. */
  async keep(identity: string, cards: readonly RawCardModel[], at: Date): Promise<void> {
    const newest = [...cards].sort((a, b) => createdAt(b) - createdAt(a)).slice(0, MAX_RETIRED_CARDS);
    if (newest.length === 0) return;
    const key = this.keys.retiredCards(identity);
    const multi = this.redis.multi();
    for (const rawCard of newest) {
      const entry: RetiredCard = { rawCard, revokedAt: at.toISOString() };
      multi.hsetnx(key, cardIdOf(rawCard.content_snapshot), JSON.stringify(entry));
    }
    await multi.exec();
  }

  /** The kept cards, newest first (at most MAX_RETIRED_CARDS); entries that do not parse are skipped. */
  async list(identity: string): Promise<RetiredCard[]> {
    const values = await this.redis.hvals(this.keys.retiredCards(identity));
    const cards = values.flatMap((value) => {
      try {
        const parsed = RetiredCard.safeParse(JSON.parse(value));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
    return cards.sort((a, b) => createdAt(b.rawCard) - createdAt(a.rawCard)).slice(0, MAX_RETIRED_CARDS);
  }

  async has(identity: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.retiredCards(identity))) === 1;
  }
}

/** The card's `created_at` (seconds) from its signed content; 0 when unreadable (sorted last). */
function createdAt(card: RawCardModel): number {
  try {
    const content = JSON.parse(Buffer.from(card.content_snapshot, 'base64').toString('utf8')) as {
      created_at?: unknown;
    };
    return typeof content.created_at === 'number' ? content.created_at : 0;
  } catch {
    return 0;
  }
}
