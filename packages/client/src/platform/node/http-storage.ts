import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ConduitError } from '@conduit/shared';
import { networkError } from '../../api/http-body.js';
import { RetryableStorageError } from '../../transfer/retry.js';
import type { ObjectStorage, PresignedTarget } from '../object-storage.js';

/** Object storage through node:http(s), presigned URLs (ObjectStorage). */
const REQUEST_TIMEOUT_MS = 5 * 60_000;

/**
 * PUTs one part, streamed (produced while it is sent), with an exact Content-Length; returns the
 * ETag storage assigned to it. `body` may reuse a chunk's memory once the next chunk is pulled.
 * node:http rather than fetch: fetch pulls a request body stream as fast as it is produced and
 * queues it in the socket (unbounded when storage is slower than encryption), while here the next
 * chunk is only produced once the previous one was written.
 * A failure of `body` itself (reading the source) is rethrown as is, never as a network error.
 */
async function putPart(
  target: PresignedTarget,
  body: AsyncIterable<Uint8Array>,
  length: number,
  signal?: AbortSignal,
): Promise<string> {
  const res = await request(
    target,
    'PUT',
    { ...target.headers, 'content-length': String(length) },
    'upload',
    signal,
    body,
  );
  // Storage error bodies can echo the URL's signature: read and drop.
  res.resume();
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw storageError(status, 'upload');
  const etag = res.headers.etag;
  if (!etag || etag.length > 128) throw new ConduitError('TRANSPORT', 'Object storage returned no usable ETag.');
  return etag;
}

/**
 * Starts a ranged GET of stored bytes [start, end) and checks that storage answers with exactly
 * that range of an object of `objectSize` bytes (its Content-Range total is the stored size).
 * node:http rather than fetch: its response stream pauses the socket when the consumer is slower
 * (fetch reads ahead by many MiB per response), which keeps downloads within constant memory.
 */
async function getRange(
  target: PresignedTarget,
  start: number,
  end: number,
  objectSize: number,
  signal?: AbortSignal,
): Promise<AsyncIterable<Uint8Array>> {
  const res = await request(
    target,
    'GET',
    { ...target.headers, range: `bytes=${start}-${end - 1}` },
    'download',
    signal,
  );
  const fail = (err: ConduitError): never => {
    res.destroy();
    throw err;
  };
  const status = res.statusCode ?? 0;
  if (status !== 206) {
    if (status >= 200 && status < 300) fail(new ConduitError('INTEGRITY', 'Object storage ignored the byte range.'));
    fail(storageError(status, 'download'));
  }
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
  if (!range || Number(range[1]) !== start || Number(range[2]) !== end - 1) {
    fail(new ConduitError('TRANSPORT', 'Object storage answered another byte range.'));
  }
  if (Number(range?.[3]) !== objectSize) {
    fail(new ConduitError('INTEGRITY', 'The stored object size does not match the envelope.'));
  }
  return res;
}

export const nodeObjectStorage: ObjectStorage = { putPart, getRange };

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * One request to a presigned URL; resolves with the response (its body unread). `body` is written
 * with backpressure: the next chunk is pulled only once the previous one was written to the socket.
 */
function request(
  target: PresignedTarget,
  method: 'GET' | 'PUT',
  headers: Record<string, string>,
  what: string,
  signal: AbortSignal | undefined,
  body?: AsyncIterable<Uint8Array>,
): Promise<IncomingMessage> {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return Promise.reject(new ConduitError('TRANSPORT', `The server returned an invalid ${what} URL.`));
  }
  const https = url.protocol === 'https:';
  if (!https && url.protocol !== 'http:') {
    return Promise.reject(new ConduitError('TRANSPORT', `The ${what} URL must use http or https.`));
  }
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      method,
      headers,
      agent: https ? agents.https : agents.http,
      signal: timeout(signal),
    });
    let bodyDone = body === undefined;
    req.once('response', (res) => {
      // An answer before the whole body was sent is an error answer: stop sending.
      if (!bodyDone) req.destroy();
      resolve(res);
    });
    req.on('error', (err) => reject(transportError(err)));
    if (!body) {
      req.end();
      return;
    }
    void (async () => {
      try {
        for await (const chunk of body) {
          // Destroyed (an error, a timeout, an early answer): stop producing; 'close' has fired.
          if (req.destroyed) return;
          await written(req, chunk);
        }
        bodyDone = true;
        req.end();
      } catch (err) {
        // The source failed: not a network problem, and not worth a retry as such.
        reject(err);
        req.destroy();
      }
    })();
  });
}

/**
 * Writes `chunk` and resolves once it left for the socket (its write callback), or when `req`
 * closed (its error is reported elsewhere): either way nothing references the chunk any more, so
 * the body may reuse its memory for the next one.
 */
function written(req: ClientRequest, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('close', done);
      resolve();
    };
    req.on('close', done);
    req.write(chunk, done);
  });
}

/** A network failure or timeout; an abort keeps its reason's name (TimeoutError => TIMEOUT). */
function transportError(err: Error): ConduitError {
  const reason = err.name === 'AbortError' && err.cause instanceof Error ? err.cause : err;
  const mapped = networkError(reason, 'object storage');
  return mapped.code === 'TRANSPORT' ? new RetryableStorageError(undefined, mapped.message, { cause: err }) : mapped;
}

function timeout(signal: AbortSignal | undefined): AbortSignal {
  const limit = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, limit]) : limit;
}

/** 5xx, throttling (429) and 403 (an expired URL: the caller presigns again) are worth another attempt. */
export function storageError(status: number, what: string): ConduitError {
  if (status >= 500 || status === 429 || status === 403) {
    return new RetryableStorageError(status, `Object storage ${what} failed (HTTP ${status}).`);
  }
  return new ConduitError('DEPENDENCY_UNAVAILABLE', `Object storage refused the ${what} (HTTP ${status}).`);
}
