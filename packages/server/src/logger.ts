import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Structured logs. Request logs carry no headers or bodies at all; redaction is the second line
 * of defence for anything that still slips into a log object. Errors are reduced to type, code,
 * message and stack: client errors (ioredis replies, SDK errors) can otherwise carry command
 * arguments or request data.
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'sessionSecret',
  'appPrivateKey',
  'privateKey',
  'authToken',
  'apiKeySecret',
  'secretAccessKey',
  'metricsToken',
];

/** Each secret-bearing key at the top level and one level down, and every header value. */
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'headers.*',
  '*.headers.*',
  '*.*.headers.*',
];

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: 'non-error thrown' };
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: 'conduit-server',
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}
