/**
 * Where sealed feed pages live (S3 in production, adapters/s3/s3-feed-pages.ts). Pages are
 * immutable: a key is written once with content fixed by the versions it covers, so writing it
 * again after a crash stores the same bytes (retention writes a rewritten page under a new key).
 */
export interface FeedPageStore {
  put(key: string, body: Buffer): Promise<void>;
  /** The page's bytes, or null when no object has that key. */
  get(key: string): Promise<Buffer | null>;
  /** Deletes pages (records retention, docs/lifecycle.md); a missing key is not an error. */
  delete(keys: readonly string[]): Promise<void>;
}
