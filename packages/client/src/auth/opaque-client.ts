import { hkdfSync } from 'node:crypto';
import {
  ConduitError,
  OpaqueLoginStartResponse,
  OpaqueRegistrationResponse,
  RegisterResponse,
  ReregisterTicket,
  SessionResponse,
} from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import { checkPassword } from './passwords.js';

/**
 * argon2id before the OPRF: 64 MiB, 3 passes, 4 lanes (RFC 9106's second recommended option,
 * serenity-kit's "memory-constrained"); about 0.2 s per login on a 2-core machine. Pinned here:
 * changing it changes every password's key, so old records would stop opening.
 */
const KEY_STRETCHING = { 'argon2id-custom': { memory: 65536, iterations: 3, parallelism: 4 } } as const;

type Opaque = typeof import('@serenity-kit/opaque');
let loading: Promise<Opaque> | undefined;

/**
 * serenity-kit's WASM, loaded (and made ready) on first use: it adds about 24 MiB to a process,
 * which the commands that only use a stored session (a 1 GiB send or receive) cannot spare.
 */
function opaqueLib(): Promise<Opaque> {
  loading ??= import('@serenity-kit/opaque').then(async (lib) => {
    await lib.ready;
    return lib;
  });
  return loading;
}

const BACKUP_INFO = 'conduit key backup v1';

/**
 * The E3Kit key-backup password: HKDF-SHA256 of OPAQUE's export key. The export key never leaves
 * the client, and the server cannot compute it from what it holds without the password.
 */
export function backupSecret(exportKey: string): string {
  const key = Buffer.from(exportKey, 'base64url');
  try {
    return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), BACKUP_INFO, 32)).toString('base64');
  } finally {
    key.fill(0);
  }
}

/** A record ready to replace the account's, and the backup secret it goes with. */
export interface Reregistration {
  ticket: string;
  registrationRecord: string;
  backup: string;
}

export async function registerAccount(
  api: HttpClient,
  identity: string,
  password: string,
  registrationCode?: string,
): Promise<void> {
  checkPassword(password);
  const opaque = await opaqueLib();
  const code = registrationCode === undefined ? {} : { registrationCode };
  const start = opaque.client.startRegistration({ password });
  const { registrationResponse } = await api.opaqueStep(
    'register/start',
    { identity, registrationRequest: start.registrationRequest, ...code },
    OpaqueRegistrationResponse,
  );
  const { registrationRecord } = finishRegistration(
    opaque,
    password,
    start.clientRegistrationState,
    registrationResponse,
  );
  await api.opaqueStep('register/finish', { identity, registrationRecord, ...code }, RegisterResponse);
}

/**
 * Runs the client half of a login up to the proof. `legacy`: the account predates OPAQUE and must
 * migrate first. A wrong password or unknown identity fails here with INVALID_CREDENTIALS (the
 * server's answer does not authenticate), exactly alike.
 */
async function prove(
  api: HttpClient,
  identity: string,
  password: string,
): Promise<{ legacy: true } | { legacy: false; loginId: string; finishLoginRequest: string; backup: string }> {
  checkPassword(password);
  const opaque = await opaqueLib();
  const start = opaque.client.startLogin({ password });
  const answer = await api.opaqueStep(
    'login/start',
    { identity, startLoginRequest: start.startLoginRequest },
    OpaqueLoginStartResponse,
  );
  if ('legacy' in answer) return { legacy: true };
  const done = opaque.client.finishLogin({
    clientLoginState: start.clientLoginState,
    loginResponse: answer.loginResponse,
    password,
    keyStretching: KEY_STRETCHING,
  });
  if (!done) throw new ConduitError('INVALID_CREDENTIALS');
  return {
    legacy: false,
    loginId: answer.loginId,
    finishLoginRequest: done.finishLoginRequest,
    backup: backupSecret(done.exportKey),
  };
}

export async function login(
  api: HttpClient,
  identity: string,
  password: string,
  deviceId: string,
): Promise<{ legacy: true } | { legacy: false; session: SessionResponse; backup: string }> {
  const proof = await prove(api, identity, password);
  if (proof.legacy) return proof;
  const session = await api.opaqueStep(
    'login/finish',
    { loginId: proof.loginId, finishLoginRequest: proof.finishLoginRequest, deviceId },
    SessionResponse,
  );
  return { legacy: false, session, backup: proof.backup };
}

/** A fresh login proof for an action a session alone may not do (DELETE /v1/identity); opens no session. */
export async function freshProof(
  api: HttpClient,
  identity: string,
  password: string,
): Promise<{ loginId: string; finishLoginRequest: string }> {
  const proof = await prove(api, identity, password);
  if (proof.legacy) throw new ConduitError('INVALID_CREDENTIALS', 'Log in once to migrate the account first.');
  return { loginId: proof.loginId, finishLoginRequest: proof.finishLoginRequest };
}

/** A fresh login proof with the old password, then the new password's record (not stored yet: see reregister). */
export async function startPasswordChange(
  api: HttpClient,
  identity: string,
  oldPassword: string,
  newPassword: string,
): Promise<Reregistration & { oldBackup: string }> {
  checkPassword(newPassword);
  const proof = await prove(api, identity, oldPassword);
  if (proof.legacy) throw new ConduitError('INVALID_CREDENTIALS', 'Log in once to migrate the account first.');
  const opaque = await opaqueLib();
  const start = opaque.client.startRegistration({ password: newPassword });
  const { ticket, registrationResponse } = await api.opaqueStep(
    'password/start',
    {
      loginId: proof.loginId,
      finishLoginRequest: proof.finishLoginRequest,
      registrationRequest: start.registrationRequest,
    },
    ReregisterTicket,
  );
  const done = finishRegistration(opaque, newPassword, start.clientRegistrationState, registrationResponse);
  return { ticket, registrationRecord: done.registrationRecord, backup: done.backup, oldBackup: proof.backup };
}

/** Migration of a pre-OPAQUE account: the legacy login secret proves it (docs/identity.md). */
export async function startMigration(
  api: HttpClient,
  identity: string,
  password: string,
  legacyLogin: string,
): Promise<Reregistration> {
  const opaque = await opaqueLib();
  const start = opaque.client.startRegistration({ password });
  const { ticket, registrationResponse } = await api.opaqueStep(
    'migrate/start',
    { identity, legacyPassword: legacyLogin, registrationRequest: start.registrationRequest },
    ReregisterTicket,
  );
  const done = finishRegistration(opaque, password, start.clientRegistrationState, registrationResponse);
  return { ticket, registrationRecord: done.registrationRecord, backup: done.backup };
}

/** Stores the new record; the server ends every session of the identity. */
export async function reregister(api: HttpClient, change: Reregistration): Promise<void> {
  await api.opaqueStep('reregister', { ticket: change.ticket, registrationRecord: change.registrationRecord });
}

function finishRegistration(
  opaque: Opaque,
  password: string,
  clientRegistrationState: string,
  registrationResponse: string,
): { registrationRecord: string; backup: string } {
  try {
    const done = opaque.client.finishRegistration({
      password,
      clientRegistrationState,
      registrationResponse,
      keyStretching: KEY_STRETCHING,
    });
    return { registrationRecord: done.registrationRecord, backup: backupSecret(done.exportKey) };
  } catch (cause) {
    throw new ConduitError('INTEGRITY', 'The server sent a malformed OPAQUE registration response.', undefined, {
      cause,
    });
  }
}

/** An OIDC-mode server has no password routes (404): say so instead of "not found". */
export function explainNoPasswordRoutes(err: unknown): never {
  if (err instanceof ConduitError && (err.code === 'NOT_FOUND' || err.code === 'METHOD_NOT_ALLOWED')) {
    throw new ConduitError(
      'CONFIG',
      'This server does not manage login passwords (OIDC mode: change it with your identity provider); nothing was changed.',
    );
  }
  throw err;
}
