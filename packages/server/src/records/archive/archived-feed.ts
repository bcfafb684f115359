import type { RecordVersion } from '@conduit/shared';
import { decodePage, pageKey, pageOf } from './feed-pages.js';
import type { FeedPageStore } from './page-store.js';

/** Parsed pages kept in memory: a catch-up reads each 1,000-version page over two feed pages. */
const CACHED_PAGES = 16;

/**
 * The archived part of a group's feed, read from its S3 pages: the same versions, in the same
 * order, as the Redis feed served before they moved.
 */
export class ArchivedFeed {
  private readonly cache = new Map<string, RecordVersion[]>();

  constructor(private readonly pages: FeedPageStore) {}

  /**
   * Versions with seq > afterSeq from the page holding afterSeq + 1, at most `limit` and within
   * `maxBytes` (one always fits). The feed always goes on after an archived page (the tail keeps
   * at least one version in Redis).
   */
  async read(
    groupId: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ versions: RecordVersion[]; more: true }> {
    const { first, last } = pageOf(afterSeq + 1);
    const versions: RecordVersion[] = [];
    let bytes = 0;
    // The same byte budget as the Redis feed (its stored JSON is what each line of the page holds).
    for (const v of await this.page(groupId, first, last)) {
      if (v.seq <= afterSeq) continue;
      bytes += JSON.stringify(v).length;
      if (versions.length >= limit || (versions.length > 0 && bytes > maxBytes)) break;
      versions.push(v);
    }
    return { versions, more: true };
  }

  private async page(groupId: string, first: number, last: number): Promise<RecordVersion[]> {
    const key = pageKey(groupId, first, last);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const body = await this.pages.get(key);
    // Below the watermark a page must exist: a missing one is lost data, never an empty range.
    if (!body) throw new Error(`Archived feed page ${key} is missing.`);
    const versions = decodePage(body, first, last);
    this.cache.set(key, versions);
    if (this.cache.size > CACHED_PAGES) this.cache.delete(this.cache.keys().next().value!);
    return versions;
  }
}
