import { ConduitError } from '@conduit/shared';

/** Retries transient storage failures (network errors, timeouts, 5xx, throttling) with exponential backoff. */
export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  signal?: AbortSignal;
  /** Called before each new attempt (e.g. to refresh an expired presigned URL). */
  onRetry?: (err: ConduitError, attempt: number) => void;
  /** Which failures are worth another attempt (default: isRetryable). */
  retryable?: (err: unknown) => err is ConduitError;
}

/** A storage answer worth retrying: the request may succeed as is, or with a fresh URL (403: expired). */
export class RetryableStorageError extends ConduitError {
  constructor(
    readonly storageStatus: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(storageStatus === undefined ? 'TRANSPORT' : 'DEPENDENCY_UNAVAILABLE', message, undefined, options);
  }
}

export function isRetryable(err: unknown): err is ConduitError {
  if (err instanceof RetryableStorageError) return true;
  return err instanceof ConduitError && (err.code === 'TRANSPORT' || err.code === 'TIMEOUT');
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !(opts.retryable ?? isRetryable)(err)) throw err;
      opts.onRetry?.(err, attempt);
      // Full jitter: parallel parts that failed together do not retry in lockstep; never sooner
      // than the server's Retry-After.
      await sleep(Math.max(retryAfterMs(err), Math.random() * base * 2 ** (attempt - 1)), opts.signal);
    }
  }
}

/** Longest Retry-After honoured, so a confused server cannot park a send indefinitely. */
const MAX_RETRY_AFTER_MS = 30_000;

/** The server's `details.retryAfterSeconds` (sent with 429 RATE_LIMITED), in ms; 0 without one. */
function retryAfterMs(err: ConduitError): number {
  const seconds = (err.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new ConduitError('TIMEOUT', 'Aborted.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
