import type { Logger } from 'pino';
import type { FeedArchiveIndex } from '../../adapters/redis/feed-archive.js';
import { ARCHIVE_PAGE_VERSIONS, decodePage, encodePage, formatPageState, pageKey } from './feed-pages.js';
import type { FeedPageStore } from './page-store.js';

/** What stays in Redis: a version is archived only once it is neither among the newest nor recent. */
export interface FeedTail {
  /** The newest versions of each group kept in Redis (at least 1). */
  versions: number;
  /** Versions younger than this stay in Redis. */
  days: number;
}

export interface FeedCompactorDeps {
  index: FeedArchiveIndex;
  pages: FeedPageStore;
  tail: FeedTail;
  logger: Logger;
  now?: () => number;
}

/**
 * Moves whole pages of old feed versions from Redis to immutable S3 objects. Order per page: read
 * the versions, PUT the page, then move the watermark in one compare-and-set script that also
 * drops them from Redis. A crash before the script leaves Redis untouched and the rerun PUTs the
 * same bytes to the same key (no duplicate page, nothing lost); after it, the page is done.
 */
export class FeedCompactor {
  constructor(private readonly deps: FeedCompactorDeps) {}

  /** Archives every full page of the group outside its tail; resolves with the pages archived. */
  async compactGroup(groupId: string): Promise<number> {
    const { index, pages, tail } = this.deps;
    const now = this.deps.now?.() ?? Date.now();
    let archived = 0;
    for (;;) {
      const { through, last } = await index.state(groupId);
      const first = through + 1;
      const end = through + ARCHIVE_PAGE_VERSIONS;
      if (last - end < Math.max(1, tail.versions)) return archived;
      // Records retention may have removed versions of the range (docs/lifecycle.md): the page
      // holds what is left, and the archive index says how many.
      const lines = await index.range(groupId, first, end);
      // Checks order and the schema before anything leaves Redis.
      const versions = decodePage(encodePage(lines), first, end, lines.length);
      const newest = versions.at(-1);
      if (newest && now - Date.parse(newest.createdAt) < tail.days * 86_400_000) return archived;
      const key = pageKey(groupId, first, end);
      // An empty range has no object (a copy a crashed earlier pass stored goes).
      if (lines.length > 0) await pages.put(key, encodePage(lines));
      else await pages.delete([key]);
      const state = lines.length === ARCHIVE_PAGE_VERSIONS ? '' : formatPageState({ gen: 0, count: lines.length });
      const moved = await index.advance(groupId, through, end, lines.length, state);
      if (moved !== 'moved' && moved !== 'changed') archived += 1;
    }
  }

  /** One pass over every group; a group that fails is logged and retried on the next pass. */
  async runOnce(): Promise<number> {
    let archived = 0;
    for await (const batch of this.deps.index.groups()) {
      for (const groupId of batch) {
        archived += await this.compactGroup(groupId).catch((err: unknown) => {
          this.deps.logger.warn({ err, groupId }, 'feed compaction failed; retried next pass');
          return 0;
        });
      }
    }
    return archived;
  }
}
