import { createHash } from 'node:crypto';

/** What a HEAD of the upload's key answered. */
export interface StoredObject {
  size: number;
  etag?: string;
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/"/g, '');

/**
 * S3's ETag of an object assembled from `parts`: the MD5 of the parts' binary MD5s, then "-" and
 * the part count. Null when a part's ETag is not an MD5 (then nothing can be derived from it).
 */
export function multipartETag(parts: readonly { etag: string }[]): string | null {
  const digests: Buffer[] = [];
  for (const part of parts) {
    const hex = unquote(part.etag);
    if (!/^[0-9a-f]{32}$/i.test(hex)) return null;
    digests.push(Buffer.from(hex, 'hex'));
  }
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`;
}

/**
 * Whether the object at the upload's (server-chosen, never reused) key is this upload, assembled
 * from `parts`: a complete whose answer was lost (the API died, or the store answers a repeated
 * complete with an error, as s3rver does with 500) left it there. The size must match; so must a
 * multipart ETag ("<md5>-<n>", as S3 computes it) when the store gives one. A store that gives
 * the whole object's MD5 instead (s3rver) cannot be checked against part ETags: its size decides.
 */
export function isAssembledFrom(
  stored: StoredObject | null,
  expected: { size: number; parts: readonly { etag: string }[] },
): boolean {
  if (stored?.size !== expected.size) return false;
  const etag = stored.etag === undefined ? '' : unquote(stored.etag);
  if (!/-\d+$/.test(etag)) return true;
  return etag.toLowerCase() === multipartETag(expected.parts);
}
