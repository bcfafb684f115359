import {
  OpaqueLoginFinishRequest,
  OpaqueLoginStartRequest,
  OpaqueLoginStartResponse,
  OpaqueMigrateStartRequest,
  OpaquePasswordStartRequest,
  OpaqueRegisterFinishRequest,
  OpaqueRegisterStartRequest,
  OpaqueRegistrationResponse,
  RegisterResponse,
  ReregisterRequest,
  ReregisterTicket,
  SessionResponse,
} from '@conduit/shared';
import type { z } from 'zod';
import { Router, type RequestHandler } from 'express';
import type { OpaqueAccounts } from './auth/opaque-accounts.js';
import type { AuthRateLimiter } from '../adapters/redis/auth-rate.js';
import { clientAddress, jsonBody, methodNotAllowed } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import { sessionBody } from './session-body.js';
import type { ApiOperation } from '../http/openapi/operation.js';

const opaque = (
  path: string,
  summary: string,
  body: z.ZodType,
  responses: ApiOperation['responses'],
  errors: ApiOperation['errors'],
): ApiOperation => ({
  method: 'post',
  path: `/auth/opaque/${path}`,
  summary,
  tag: 'auth',
  auth: 'none',
  body,
  responses,
  errors,
});

/** The OpenAPI description of the routes below (http/openapi/). */
export const opaqueOperations: readonly ApiOperation[] = [
  opaque(
    'register/start',
    'OPAQUE registration, first step',
    OpaqueRegisterStartRequest,
    { 200: { description: "The server's registration response.", schema: OpaqueRegistrationResponse } },
    ['IDENTITY_TAKEN', 'IDENTITY_RESERVED'],
  ),
  opaque(
    'register/finish',
    'OPAQUE registration: store the record',
    OpaqueRegisterFinishRequest,
    { 201: { description: 'Registered.', schema: RegisterResponse } },
    ['IDENTITY_TAKEN', 'IDENTITY_RESERVED'],
  ),
  opaque(
    'login/start',
    'OPAQUE login, first step (the same answer for unknown identities)',
    OpaqueLoginStartRequest,
    { 200: { description: 'The login response, or `{legacy:true}`.', schema: OpaqueLoginStartResponse } },
    [],
  ),
  opaque(
    'login/finish',
    "OPAQUE login: check the client's proof, open a session",
    OpaqueLoginFinishRequest,
    { 200: { description: 'A session bound to `deviceId`.', schema: SessionResponse } },
    ['INVALID_CREDENTIALS', 'ACCOUNT_LOCKED', 'DEVICE_REVOKED'],
  ),
  opaque(
    'password/start',
    'Change the password: a fresh login proof and the new registration request',
    OpaquePasswordStartRequest,
    { 200: { description: 'A single-use ticket for reregister.', schema: ReregisterTicket } },
    ['INVALID_CREDENTIALS', 'ACCOUNT_LOCKED'],
  ),
  opaque(
    'migrate/start',
    'Move a pre-OPAQUE account to OPAQUE',
    OpaqueMigrateStartRequest,
    { 200: { description: 'A single-use ticket for reregister.', schema: ReregisterTicket } },
    ['INVALID_CREDENTIALS'],
  ),
  opaque(
    'reregister',
    'Store the new record; every session of the identity ends',
    ReregisterRequest,
    { 204: { description: 'Stored.' } },
    ['INVALID_CREDENTIALS'],
  ),
];

/**
 * OPAQUE password routes under /v1/auth/opaque (dev auth mode; docs/api.md). Every flow that tries
 * a password for an identity (register, login, migrate) is rate limited where it names the
 * identity; the later steps need an earlier step's single-use id.
 */
export function opaqueAuthRoutes(accounts: OpaqueAccounts, rate: AuthRateLimiter): Router {
  const router = Router();
  const post = (path: string, handler: RequestHandler) =>
    router.route(`/auth/opaque/${path}`).post(jsonBody, handler).all(methodNotAllowed);

  post('register/start', async (req, res) => {
    const body = parseInput(OpaqueRegisterStartRequest, req.body, 'body');
    await rate.take(body.identity, clientAddress(req));
    const registrationResponse = await accounts.registerStart(
      body.identity,
      body.registrationRequest,
      body.registrationCode,
    );
    reply(res, 200, OpaqueRegistrationResponse, { registrationResponse });
  });

  post('register/finish', async (req, res) => {
    const body = parseInput(OpaqueRegisterFinishRequest, req.body, 'body');
    // Counted too: finish does not need a start, so it must not be a way around the limit.
    await rate.take(body.identity, clientAddress(req));
    await accounts.registerFinish(body.identity, body.registrationRecord, body.registrationCode);
    reply(res, 201, RegisterResponse, { identity: body.identity });
  });

  post('login/start', async (req, res) => {
    const { identity, startLoginRequest } = parseInput(OpaqueLoginStartRequest, req.body, 'body');
    await rate.take(identity, clientAddress(req));
    reply(res, 200, OpaqueLoginStartResponse, await accounts.loginStart(identity, startLoginRequest));
  });

  post('login/finish', async (req, res) => {
    const { loginId, finishLoginRequest, deviceId } = parseInput(OpaqueLoginFinishRequest, req.body, 'body');
    const session = await accounts.loginFinish(loginId, finishLoginRequest, deviceId);
    reply(res, 200, SessionResponse, sessionBody(session.identity, session));
  });

  post('password/start', async (req, res) => {
    const body = parseInput(OpaquePasswordStartRequest, req.body, 'body');
    const ticket = await accounts.passwordStart(body.loginId, body.finishLoginRequest, body.registrationRequest);
    reply(res, 200, ReregisterTicket, ticket);
  });

  post('migrate/start', async (req, res) => {
    const body = parseInput(OpaqueMigrateStartRequest, req.body, 'body');
    await rate.take(body.identity, clientAddress(req));
    const ticket = await accounts.migrateStart(body.identity, body.legacyPassword, body.registrationRequest);
    reply(res, 200, ReregisterTicket, ticket);
  });

  post('reregister', async (req, res) => {
    const { ticket, registrationRecord } = parseInput(ReregisterRequest, req.body, 'body');
    await accounts.reregister(ticket, registrationRecord);
    res.status(204).end();
  });

  return router;
}
