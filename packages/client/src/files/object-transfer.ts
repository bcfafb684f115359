import { ConduitError } from '@conduit/shared';
import type { PresignedUrl } from '@conduit/shared';
import { networkError, readBounded } from '../api/http-client.js';

/** Ciphertext transfer straight to/from object storage with presigned URLs (the server never sees it). */
const TRANSFER_TIMEOUT_MS = 10 * 60_000;

export async function uploadObject(presigned: PresignedUrl, object: Buffer): Promise<void> {
  if (presigned.method !== 'PUT') throw new ConduitError('TRANSPORT', 'The server returned a non-PUT upload URL.');
  const res = await send(presigned, { method: 'PUT', body: object });
  await res.body?.cancel().catch(() => undefined);
  if (!res.ok) throw storageError(res.status, 'upload');
}

/** Downloads exactly `size` bytes: a longer or shorter object is refused before it is held in full. */
export async function downloadObject(presigned: PresignedUrl, size: number): Promise<Buffer> {
  if (presigned.method !== 'GET') throw new ConduitError('TRANSPORT', 'The server returned a non-GET download URL.');
  const res = await send(presigned, { method: 'GET' });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw storageError(res.status, 'download');
  }
  let data: Buffer;
  try {
    data = await readBounded(res, size);
  } catch (err) {
    if (err instanceof ConduitError && err.code === 'TRANSPORT') {
      throw new ConduitError('INTEGRITY', 'The stored object is larger than its pointer says.');
    }
    throw networkError(err, 'object storage');
  }
  if (data.length !== size) throw new ConduitError('INTEGRITY', 'The stored object is smaller than its pointer says.');
  return data;
}

async function send(presigned: PresignedUrl, init: { method: string; body?: Buffer }): Promise<Response> {
  try {
    return await fetch(presigned.url, {
      ...init,
      headers: presigned.headers,
      signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    throw networkError(err, 'object storage');
  }
}

// The status only: storage error bodies can echo the presigned URL's signature.
const storageError = (status: number, what: string): ConduitError =>
  status === 403 || status === 404
    ? new ConduitError(
        'DEPENDENCY_UNAVAILABLE',
        `Object storage refused the ${what} (HTTP ${status}); the URL may have expired.`,
      )
    : new ConduitError('DEPENDENCY_UNAVAILABLE', `Object storage ${what} failed (HTTP ${status}).`);
