import {
  ChangePasswordRequest,
  LoginRequest,
  RegisterRequest,
  RegisterResponse,
  SessionResponse,
} from '@conduit/shared';
import { Router } from 'express';
import type { DevAccounts } from './auth/dev-accounts.js';
import type { AuthRateLimiter } from '../adapters/redis/auth-rate.js';
import { clientAddress, jsonBody, methodNotAllowed } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import { sessionBody } from './session-body.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of POST /auth/login (http/openapi/). */
export const loginOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/auth/login',
    summary: 'Log in to a pre-OPAQUE account not migrated yet',
    tag: 'auth',
    auth: 'none',
    body: LoginRequest,
    responses: { 200: { description: 'A session bound to `deviceId`.', schema: SessionResponse } },
    errors: ['INVALID_CREDENTIALS', 'ACCOUNT_LOCKED', 'DEVICE_REVOKED'],
  },
];

/** The legacy routes (mounted by tests only, like the routes themselves). */
export const legacyPasswordOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/auth/register',
    summary: 'Pre-OPAQUE registration (tests only)',
    tag: 'auth',
    auth: 'none',
    body: RegisterRequest,
    responses: { 201: { description: 'Registered.', schema: RegisterResponse } },
    errors: ['IDENTITY_TAKEN', 'IDENTITY_RESERVED'],
  },
  {
    method: 'post',
    path: '/auth/password',
    summary: 'Pre-OPAQUE password change (tests only)',
    tag: 'auth',
    auth: 'none',
    body: ChangePasswordRequest,
    responses: { 204: { description: 'Changed; every session of the identity ends.' } },
    errors: ['INVALID_CREDENTIALS'],
  },
];

/**
 * Pre-OPAQUE password routes (dev auth mode). POST /v1/auth/login serves accounts not migrated
 * yet; /register and /password only when `legacy` is set (tests), never in a configured server.
 */
export function authRoutes(accounts: DevAccounts, rate: AuthRateLimiter, legacy: boolean): Router {
  const router = Router();

  if (legacy) {
    router
      .route('/auth/register')
      .post(jsonBody, async (req, res) => {
        const { identity, password, registrationCode } = parseInput(RegisterRequest, req.body, 'body');
        await rate.take(identity, clientAddress(req));
        await accounts.register(identity, password, registrationCode);
        reply(res, 201, RegisterResponse, { identity });
      })
      .all(methodNotAllowed);

    router
      .route('/auth/password')
      .post(jsonBody, async (req, res) => {
        const { identity, password, newPassword } = parseInput(ChangePasswordRequest, req.body, 'body');
        await rate.take(identity, clientAddress(req));
        await accounts.changePassword(identity, password, newPassword);
        res.status(204).end();
      })
      .all(methodNotAllowed);
  }

  router
    .route('/auth/login')
    .post(jsonBody, async (req, res) => {
      const { identity, password, deviceId } = parseInput(LoginRequest, req.body, 'body');
      await rate.take(identity, clientAddress(req));
      const session = await accounts.login(identity, password, deviceId);
      reply(res, 200, SessionResponse, sessionBody(identity, session));
    })
    .all(methodNotAllowed);

  return router;
}
