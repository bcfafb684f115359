import { gunzipSync, gzipSync } from 'node:zlib';
import { RecordVersion } from '@conduit/shared';

/**
 * Versions per sealed page. Page boundaries are fixed forever (page k holds seqs
 * k*ARCHIVE_PAGE_VERSIONS+1 .. (k+1)*ARCHIVE_PAGE_VERSIONS) so a reader finds the page of any seq
 * without an index, and a compactor rerun rebuilds exactly the page it may have half written.
 */
export const ARCHIVE_PAGE_VERSIONS = 1000;

/** The page holding `seq`: its first and last seq. */
export function pageOf(seq: number): { first: number; last: number } {
  const first = Math.floor((seq - 1) / ARCHIVE_PAGE_VERSIONS) * ARCHIVE_PAGE_VERSIONS + 1;
  return { first, last: first + ARCHIVE_PAGE_VERSIONS - 1 };
}

/**
 * `feed/<groupId>/<first>-<last>.jsonl.gz`: outside `objects/`, so no presign ever names it. Records
 * retention rewrites a page without its expired versions under the next generation's key
 * (`<first>-<last>.g<gen>.jsonl.gz`), so the page a reader was told about is never overwritten.
 */
export const pageKey = (groupId: string, first: number, last: number, gen = 0): string =>
  `feed/${groupId}/${first}-${last}${gen === 0 ? '' : `.g${gen}`}.jsonl.gz`;

/**
 * What the archive index says of one page (`rec:archive` field `p:<first>` = `<gen> <count>`;
 * absent: generation 0 holding every seq of its range). Count 0: no object, every version expired.
 */
export interface PageState {
  gen: number;
  count: number;
}

export const pageStateField = (first: number): string => `p:${first}`;

export function parsePageState(raw: string | null | undefined): PageState {
  if (!raw) return { gen: 0, count: ARCHIVE_PAGE_VERSIONS };
  const m = /^(\d+) (\d+)$/.exec(raw);
  if (!m) throw new Error(`Archive page state ${JSON.stringify(raw)} is corrupt.`);
  return { gen: Number(m[1]), count: Number(m[2]) };
}

export const formatPageState = (state: PageState): string => `${state.gen} ${state.count}`;

/**
 * One JSON line per version (the stored JSON as the feed held it: ciphertext envelope and ids),
 * gzipped. gzip from node:zlib writes no timestamp or name, so equal versions give equal bytes.
 */
export const encodePage = (lines: readonly string[]): Buffer => gzipSync(`${lines.join('\n')}\n`);

/**
 * Parses a page and checks it is the one asked for: `count` seqs of [first, last] (every one unless
 * retention removed some), strictly ascending. A page that is not is corrupt or foreign and must
 * fail the read rather than skip or repeat versions.
 */
export function decodePage(body: Buffer, first: number, last: number, count = last - first + 1): RecordVersion[] {
  const lines = gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const versions = lines.map((l) => RecordVersion.parse(JSON.parse(l)));
  const ordered = versions.every(
    (v, i) => v.seq >= first && v.seq <= last && (i === 0 || v.seq > versions[i - 1]!.seq),
  );
  if (versions.length !== count || !ordered) {
    throw new Error(`Feed page ${first}-${last} does not hold exactly its ${count} seqs.`);
  }
  return versions;
}
