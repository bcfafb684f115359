import { ConduitError } from '@conduit/shared';
import { networkError, readBounded } from '../api/http-body.js';

/** A presigned URL and the headers it was signed with. */
export interface Presigned {
  url: string;
  headers: Record<string, string>;
}

const TIMEOUT_MS = 60_000;

/** PUTs a record's whole ciphertext in one request (records are at most ~1 MiB). */
export async function putObject(target: Presigned, body: Buffer): Promise<void> {
  const res = await call(target.url, {
    method: 'PUT',
    headers: { ...target.headers, 'content-length': String(body.length) },
    body,
  });
  await res.body?.cancel().catch(() => undefined);
  // Only the status: storage error bodies can echo the URL's signature.
  if (!res.ok)
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', `Object storage refused the upload (HTTP ${res.status}).`);
}

/** GETs a record's ciphertext, which must be exactly `size` bytes. */
export async function getObject(target: Presigned, size: number): Promise<Buffer> {
  const res = await call(target.url, { method: 'GET', headers: target.headers });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', `Object storage refused the download (HTTP ${res.status}).`);
  }
  const body = await readBounded(res, size).catch((err: unknown) => {
    throw err instanceof ConduitError && err.code === 'TRANSPORT'
      ? new ConduitError('INTEGRITY', 'The stored object is larger than its version says.')
      : err;
  });
  if (body.length !== size) throw new ConduitError('INTEGRITY', 'The stored object size does not match its version.');
  return body;
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw networkError(err, 'object storage');
  }
}
