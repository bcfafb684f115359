import { ConduitError } from '@conduit/shared';
import * as oidc from 'openid-client';
import { providerError } from './issuer.js';

/** What the user must do to approve the login (RFC 8628 §3.3). */
export interface DeviceLoginPrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresInSeconds: number;
}

/** The tokens a device login ends with (never printed or logged). */
export interface ProviderTokens {
  idToken: string;
  refreshToken: string;
  subject: string;
}

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) through openid-client: asks for a user code,
 * shows it, then polls the token endpoint at the provider's interval (longer after `slow_down`)
 * until the user approves, refuses, or the code expires. `signal` (Ctrl-C) stops the polling.
 */
export async function deviceLogin(
  config: oidc.Configuration,
  scope: string,
  show: (prompt: DeviceLoginPrompt) => void,
  signal: AbortSignal,
): Promise<ProviderTokens> {
  let auth: oidc.DeviceAuthorizationResponse;
  try {
    auth = await oidc.initiateDeviceAuthorization(config, { scope });
  } catch (err) {
    throw providerError(err, 'Starting the device login');
  }
  show({
    verificationUri: auth.verification_uri,
    verificationUriComplete: auth.verification_uri_complete,
    userCode: auth.user_code,
    expiresInSeconds: auth.expires_in,
  });
  const expiry = AbortSignal.timeout(auth.expires_in * 1000);
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  try {
    tokens = await oidc.pollDeviceAuthorizationGrant(config, auth, undefined, {
      signal: AbortSignal.any([signal, expiry]),
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (expiry.aborted || (err instanceof oidc.ResponseBodyError && err.error === 'expired_token')) {
      throw new ConduitError('TIMEOUT', 'The login code expired before it was approved: run `conduit login` again.');
    }
    if (err instanceof oidc.ResponseBodyError && err.error === 'access_denied') {
      throw new ConduitError('UNAUTHENTICATED', 'The login was refused at the identity provider.');
    }
    throw providerError(err, 'The device login');
  }
  return tokensOf(tokens, 'The device login');
}

/**
 * The ID token, refresh token and subject of a token response; CONFIG if the provider left one out.
 * A refresh answer without a refresh token means the old one stays valid (`keptRefreshToken`).
 */
export function tokensOf(
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  what: string,
  keptRefreshToken?: string,
): ProviderTokens {
  const subject = tokens.claims()?.sub;
  if (!tokens.id_token || !subject) {
    throw new ConduitError('CONFIG', `${what} returned no ID token: the scope must include openid.`);
  }
  const refreshToken = tokens.refresh_token ?? keptRefreshToken;
  if (!refreshToken) {
    throw new ConduitError(
      'CONFIG',
      `${what} returned no refresh token: the client must be allowed offline_access and the refresh_token grant.`,
    );
  }
  return { idToken: tokens.id_token, refreshToken, subject };
}
