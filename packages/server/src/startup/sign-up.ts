import type { ServerConfig } from '../config.js';
import type { Refusal } from './refusal.js';

/**
 * Password accounts (dev auth mode) with open registration let anyone create an identity. OIDC
 * mode leaves sign-up to the identity provider; `CONDUIT_REGISTRATION=code` needs an operator's
 * one-time code (`conduit-server admin bootstrap <identity>`) for every new identity.
 */
export function checkSignUp(config: ServerConfig): Refusal | null {
  if (config.auth.mode !== 'dev' || config.registration === 'code') return null;
  return {
    check: 'sign-up',
    settings: ['CONDUIT_REGISTRATION', 'CONDUIT_AUTH_MODE'],
    reason:
      'anyone can register an account: set CONDUIT_REGISTRATION=code (operator registration codes only) ' +
      'or CONDUIT_AUTH_MODE=oidc (your identity provider decides)',
  };
}
