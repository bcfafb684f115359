import { ConduitError } from '@conduit/shared';

/** What a 503 tells clients to wait before retrying: about one ioredis reconnect cycle. */
export const RETRY_AFTER_SECONDS = 2;

/** Socket-level failures: the peer (Redis, S3, Sync, an identity provider) is down or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * ioredis and the AWS SDK raise these as plain errors known only by name or message: a closed or
 * reconnecting connection, retries per request used up, a command timeout, a Redis still loading.
 */
const OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError', 'TimeoutError', 'AbortError']);
const OUTAGE_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Command timed out$/,
  /^Command aborted due to connection close$/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^LOADING\b/,
  /^(connect|read) (ETIMEDOUT|ECONNREFUSED|ECONNRESET)\b/,
];

/** Causes are followed this deep (fetch wraps socket errors, the SDKs wrap fetch). */
const MAX_CAUSE_DEPTH = 5;

function isOutage(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > MAX_CAUSE_DEPTH) return false;
  const { code, name, message, cause, errors } = err as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (typeof name === 'string' && OUTAGE_NAMES.has(name)) return true;
  if (typeof message === 'string' && OUTAGE_MESSAGES.some((re) => re.test(message))) return true;
  // Happy-eyeballs connects fail with an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.some((e) => isOutage(e, depth + 1))) return true;
  return isOutage(cause, depth + 1);
}

/** A dependency's outage, however its client library reports it, as 503 DEPENDENCY_UNAVAILABLE; else null. */
export function asDependencyOutage(err: unknown): ConduitError | null {
  if (err instanceof ConduitError) return null;
  if (!isOutage(err, 0)) return null;
  return new ConduitError('DEPENDENCY_UNAVAILABLE', undefined, undefined, { cause: err });
}
