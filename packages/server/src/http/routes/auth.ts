import {
  ChangePasswordRequest,
  LoginRequest,
  RegisterRequest,
  RegisterResponse,
  SessionResponse,
} from '@conduit/shared';
import { Router } from 'express';
import type { DevAccounts } from '../../auth/dev-accounts.js';
import { jsonBody, methodNotAllowed } from '../middleware.js';
import { parseInput, reply } from '../validate.js';

/** POST /v1/auth/register, /login and /password: mounted in dev auth mode only. */
export function authRoutes(accounts: DevAccounts): Router {
  const router = Router();

  router
    .route('/auth/register')
    .post(jsonBody, async (req, res) => {
      const { identity, password } = parseInput(RegisterRequest, req.body, 'body');
      await accounts.register(identity, password);
      reply(res, 201, RegisterResponse, { identity });
    })
    .all(methodNotAllowed);

  router
    .route('/auth/login')
    .post(jsonBody, async (req, res) => {
      const { identity, password, deviceId } = parseInput(LoginRequest, req.body, 'body');
      const session = await accounts.login(identity, password, deviceId);
      reply(res, 200, SessionResponse, { token: session.token, identity, expiresAt: session.expiresAt.toISOString() });
    })
    .all(methodNotAllowed);

  router
    .route('/auth/password')
    .post(jsonBody, async (req, res) => {
      const { identity, password, newPassword } = parseInput(ChangePasswordRequest, req.body, 'body');
      await accounts.changePassword(identity, password, newPassword);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return router;
}
