import type { SessionResponse } from '@conduit/shared';
import type { DevSession } from './auth/dev-sessions.js';

/** The SessionResponse of a dev-mode login or refresh. */
export function sessionBody(identity: string, session: DevSession): SessionResponse {
  return {
    token: session.token,
    identity,
    expiresAt: session.expiresAt.toISOString(),
    refreshToken: session.refreshToken,
    refreshExpiresAt: session.refreshExpiresAt.toISOString(),
  };
}
