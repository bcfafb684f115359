import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Structured logs. Request logs carry no headers or bodies at all; redaction is the second line
 * of defence for anything that still slips into a log object. Errors are reduced to type, code,
 * message and stack: client errors (ioredis replies, SDK errors) can otherwise carry command
 * arguments or request data.
 */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'secret',
  '*.authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-amz-security-token"]',
  '*.sessionSecret',
  '*.appPrivateKey',
  '*.authToken',
  '*.apiKeySecret',
  '*.secretAccessKey',
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
