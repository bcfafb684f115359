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

/** `feed/<groupId>/<first>-<last>.jsonl.gz`: outside `objects/`, so no presign ever names it. */
export const pageKey = (groupId: string, first: number, last: number): string =>
  `feed/${groupId}/${first}-${last}.jsonl.gz`;

/**
 * One JSON line per version (the stored JSON as the feed held it: ciphertext envelope and ids),
 * gzipped. gzip from node:zlib writes no timestamp or name, so equal versions give equal bytes.
 */
export const encodePage = (lines: readonly string[]): Buffer => gzipSync(`${lines.join('\n')}\n`);

/**
 * Parses a page and checks it is the one asked for: every seq of [first, last], in order. A page
 * that is not is corrupt or foreign and must fail the read rather than skip or repeat versions.
 */
export function decodePage(body: Buffer, first: number, last: number): RecordVersion[] {
  const lines = gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const versions = lines.map((l) => RecordVersion.parse(JSON.parse(l)));
  if (versions.length !== last - first + 1 || versions.some((v, i) => v.seq !== first + i)) {
    throw new Error(`Feed page ${first}-${last} does not hold exactly its seqs.`);
  }
  return versions;
}
