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
