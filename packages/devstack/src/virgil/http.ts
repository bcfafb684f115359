import type { IncomingMessage, ServerResponse } from 'node:http';
import { VirgilServiceError } from './errors.js';

/** Bodies are JSON of a few KiB in practice; Keyknox group tickets for 100 members stay well under this. */
export const MAX_BODY_BYTES = 1024 * 1024;
// Past this much discarded input the peer is not a Virgil client: stop reading and hang up.
const MAX_DISCARD_BYTES = 16 * MAX_BODY_BYTES;

/**
 * Reads a JSON body of at most MAX_BODY_BYTES. An oversized body is read to its end and discarded
 * (up to a hard cap) so the client gets a clean 413 rather than a reset connection. An empty body
 * is `undefined` (revoke and Keyknox v1 reset send none).
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DISCARD_BYTES) {
      req.destroy();
      break;
    }
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw new VirgilServiceError('PAYLOAD_TOO_LARGE');
  if (size === 0) return undefined;
  if (!/^application\/json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw new VirgilServiceError('UNSUPPORTED_MEDIA_TYPE');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new VirgilServiceError('MALFORMED_JSON');
  }
}

export interface Reply {
  status?: number;
  /** Serialised as JSON; omitted means an empty body. */
  body?: unknown;
  headers?: Record<string, string>;
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status ?? 200, headers);
  res.end(payload);
}

export function sendError(res: ServerResponse, err: VirgilServiceError): void {
  send(res, { status: err.status, body: err.toBody() });
}
