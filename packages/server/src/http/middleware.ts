import { ConduitError, DEVICE_HEADER, DeviceId, MAX_JSON_BODY_BYTES } from '@conduit/shared';
import type { Principal } from '@conduit/shared';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { AppContext } from './context.js';
import { RETRY_AFTER_SECONDS, asDependencyOutage } from './dependency-outage.js';
import { parseInput } from './validate.js';

/** Responses carry tokens and presigned URLs: never cache them, never render them. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
  });
  next();
};

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, path: req.path, status: res.statusCode, ms }, 'request');
    });
    next();
  };
}

/**
 * For routes with a body: JSON only (415 otherwise), at most `limit` bytes (413), well-formed
 * (400). Routes that need more than the global MAX_JSON_BODY_BYTES name their own limit.
 */
export function jsonBodyUpTo(limit: number): RequestHandler {
  const parseJson = express.json({
    limit,
    strict: true,
    type: 'application/json',
    // Compressed bodies are refused (415): a size limit on a gzip bomb is still a decompression cost.
    inflate: false,
  });
  return (req, res, next) => {
    if (!req.is('application/json')) {
      next(new ConduitError('UNSUPPORTED_MEDIA_TYPE'));
      return;
    }
    parseJson(req, res, next);
  };
}

export const jsonBody = jsonBodyUpTo(MAX_JSON_BODY_BYTES);

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;
const MAX_TOKEN_CHARS = 8192;

export interface AuthenticateOptions {
  /** The enrollment route: a device not registered yet may call it (to register itself). */
  enrollment?: boolean;
}

/**
 * The bearer token, then the device the request acts for (see effectiveDevice), checked against
 * the identity's devices, session epochs and lock in one Redis round trip: a revoked device is
 * refused on every route (DEVICE_REVOKED), an unregistered one everywhere but enrollment
 * (UNKNOWN_DEVICE), a session older than a password change, lock or logout of its device with
 * UNAUTHENTICATED, a locked identity with ACCOUNT_LOCKED. Token issuance goes through here too,
 * so none of them gets a token. Then the identity's request budget (all its devices together): RATE_LIMITED once it is spent.
 */
export function authenticate(ctx: AppContext, opts: AuthenticateOptions = {}): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    const match = header && header.length <= MAX_TOKEN_CHARS + 7 ? BEARER.exec(header) : null;
    if (!match?.[1]) throw new ConduitError('UNAUTHENTICATED');
    const principal = await ctx.authenticator.authenticate(match[1]);
    const deviceId = effectiveDevice(principal, req.get(DEVICE_HEADER));
    // Device, session epochs and operator lock in one round trip (adapters/redis/sessions.ts).
    const status = await ctx.sessionState.check(principal.identity, deviceId, principal);
    if (status === 'locked') throw new ConduitError('ACCOUNT_LOCKED');
    if (status === 'expired') throw new ConduitError('UNAUTHENTICATED', 'The session was ended; log in again.');
    if (status === 'revoked') throw new ConduitError('DEVICE_REVOKED');
    if (status === 'unknown' && !opts.enrollment) throw new ConduitError('UNKNOWN_DEVICE');
    // Authorization and limits precede the route's work.
    await ctx.limits.take('identity', { identity: principal.identity });
    res.locals.principal = principal;
    res.locals.device = deviceId;
    next();
  };
}

/**
 * A dev session is bound to its device: the header may repeat it, never name another (403
 * FORBIDDEN). Identity-provider tokens name no device, so the header is required (400).
 */
function effectiveDevice(principal: Principal, header: string | undefined): DeviceId {
  if (header === undefined && principal.deviceId !== undefined) return principal.deviceId;
  const named = parseInput(DeviceId, header, `${DEVICE_HEADER} header`);
  if (principal.deviceId !== undefined && named !== principal.deviceId) {
    throw new ConduitError('FORBIDDEN', "The Conduit-Device header names another device than the session's.");
  }
  return named;
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  // Only reachable if a route forgot `authenticate`: fail closed.
  if (!principal) throw new ConduitError('UNAUTHENTICATED');
  return principal;
}

/** The device the request acts for, as `authenticate` established it (registered, except on enrollment). */
export function callerDevice(res: Response): DeviceId {
  const deviceId = res.locals.device as DeviceId | undefined;
  if (!deviceId) throw new ConduitError('UNAUTHENTICATED');
  return deviceId;
}

/**
 * The address rate limits count against: req.ip honours `trust proxy` (CONDUIT_TRUST_PROXY), so it
 * is X-Forwarded-For's only when the peer is a declared proxy, else the socket's.
 */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export const methodNotAllowed: RequestHandler = () => {
  throw new ConduitError('METHOD_NOT_ALLOWED');
};

export const notFound: RequestHandler = () => {
  throw new ConduitError('NOT_FOUND');
};

/** body-parser and router errors carry `type`/`status`; map them onto our codes. */
function fromHttpError(err: { type?: unknown; status?: unknown }): ConduitError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new ConduitError('PAYLOAD_TOO_LARGE');
    case 'entity.parse.failed':
      return new ConduitError('VALIDATION_FAILED', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ConduitError('UNSUPPORTED_MEDIA_TYPE');
  }
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    return new ConduitError('VALIDATION_FAILED');
  }
  return null;
}

/**
 * Every error leaves as `ConduitError.toBody()`: a dependency's outage (however its client library
 * reports it) as 503 with Retry-After, anything else unexpected logged and turned into INTERNAL.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let error: ConduitError | null =
      err instanceof ConduitError
        ? err
        : typeof err === 'object' && err !== null
          ? (fromHttpError(err) ?? asDependencyOutage(err))
          : null;
    // Client-side codes (status 0) thrown by an adapter are our bug, not the caller's.
    if (error === null || error.status < 400) {
      logger.error({ err, method: req.method, path: req.path }, 'unexpected error');
      error = new ConduitError('INTERNAL');
    } else if (error.status >= 500) {
      logger.error({ err, method: req.method, path: req.path }, 'dependency failure');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (error.code === 'RATE_LIMITED' && typeof retryAfter === 'number') res.set('Retry-After', String(retryAfter));
    if (error.code === 'DEPENDENCY_UNAVAILABLE') res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(error.status).json(error.toBody());
  };
}
