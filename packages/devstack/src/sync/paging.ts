/**
 * Opaque page tokens shared by the CDS and REST item listings: the next page starts after the
 * last key returned; a previous page walks backwards from the first key returned.
 */
import { z } from 'zod';
import { badRequest } from './errors.js';

const PageToken = z.object({
  order: z.enum(['asc', 'desc']),
  from: z.string().max(320),
  reverse: z.boolean(),
});
export type PageToken = z.infer<typeof PageToken>;

export interface PageQuery {
  order: 'asc' | 'desc';
  from?: string;
  exclusive?: boolean;
  reverse: boolean;
}

export function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** A token's query starts strictly after its key. */
export function decodePageToken(raw: string): PageQuery {
  if (raw.length > 1024) throw badRequest('Invalid PageToken', 20007);
  try {
    const token = PageToken.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { ...token, exclusive: true };
  } catch {
    throw badRequest('Invalid PageToken', 20007);
  }
}
