import type { IncomingMessage } from 'node:http';
import { invalidJson, missingData, SyncApiError } from './errors.js';
import { validateTtl } from './store.js';

/** Form bodies of the Sync REST API: size-bounded, form-encoded only, and the fields the routes share. */
const MAX_BODY_BYTES = 256 * 1024;

export function itemTtl(form: URLSearchParams): number | undefined {
  return validateTtl(form.get('ItemTtl') ?? form.get('Ttl') ?? undefined);
}

/** `Data` of a Map Item: required (54206 when absent), JSON (54008 when not). */
export function parseData(raw: string | null): unknown {
  if (raw === null) throw missingData('map');
  try {
    return JSON.parse(raw);
  } catch {
    throw invalidJson();
  }
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new SyncApiError(415, 20415, 'Send application/x-www-form-urlencoded');
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw new SyncApiError(413, 20413, 'Request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SyncApiError(413, 20413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
