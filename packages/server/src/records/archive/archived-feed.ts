import type { RecordVersion } from '@conduit/shared';
import { decodePage, pageKey, pageOf, type PageState } from './feed-pages.js';
import type { FeedPageStore } from './page-store.js';

/** Parsed pages kept in memory: a catch-up reads each 1,000-version page over two feed pages. */
const CACHED_PAGES = 16;

/**
 * The page the archive index names is not in S3: lost data, or (when the caller's index read is
 * older than a retention rewrite that deleted that generation) a stale read worth one retry.
 */
export class ArchivedPageMissing extends Error {}

/**
 * The archived part of a group's feed, read from its S3 pages: the same versions, in the same
 * order, as the Redis feed served before they moved (less what records retention removed).
 */
export class ArchivedFeed {
  private readonly cache = new Map<string, RecordVersion[]>();

  constructor(private readonly pages: FeedPageStore) {}

  /**
   * Versions with seq > afterSeq from the page holding afterSeq + 1 (in the generation `state`
   * names), at most `limit` and within `maxBytes` (one always fits). `covered`: the last seq the
   * read accounts for (the page's last seq once the rest of the page was read, which may hold no
   * version at all after retention), where the next read starts. The feed always goes on after an
   * archived page (the tail keeps at least one seq above the watermark).
   */
  async read(
    groupId: string,
    afterSeq: number,
    state: PageState,
    limit: number,
    maxBytes: number,
  ): Promise<{ versions: RecordVersion[]; more: true; covered: number }> {
    const { first, last } = pageOf(afterSeq + 1);
    const versions: RecordVersion[] = [];
    let bytes = 0;
    // The same byte budget as the Redis feed (its stored JSON is what each line of the page holds).
    for (const v of await this.page(groupId, first, last, state)) {
      if (v.seq <= afterSeq) continue;
      bytes += JSON.stringify(v).length;
      if (versions.length >= limit || (versions.length > 0 && bytes > maxBytes)) {
        return { versions, more: true, covered: versions.at(-1)!.seq };
      }
      versions.push(v);
    }
    return { versions, more: true, covered: last };
  }

  private async page(groupId: string, first: number, last: number, state: PageState): Promise<RecordVersion[]> {
    if (state.count === 0) return [];
    const key = pageKey(groupId, first, last, state.gen);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const body = await this.pages.get(key);
    // Below the watermark a page must exist: a missing one is lost data, never an empty range.
    if (!body) throw new ArchivedPageMissing(`Archived feed page ${key} is missing.`);
    const versions = decodePage(body, first, last, state.count);
    this.cache.set(key, versions);
    if (this.cache.size > CACHED_PAGES) this.cache.delete(this.cache.keys().next().value!);
    return versions;
  }
}
