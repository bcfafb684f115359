import { ConduitError, identityFromSubject } from '@conduit/shared';
import type { ConduitClient } from '@conduit/client';
import * as oidc from 'openid-client';
import { tokensOf } from './device-login.js';
import { discoverIssuer, providerError, type OidcSettings } from './issuer.js';

/**
 * The CLI's ID-token provider (ConduitClientOptions.idToken): a refresh-token grant with the
 * refresh token from the client's encrypted key store, keeping the new one when the provider
 * rotates it. The SDK calls it only when its cached token nears expiry or is refused.
 */
export function refreshingIdTokens(settings: OidcSettings, client: () => ConduitClient): () => Promise<string> {
  let config: Promise<oidc.Configuration> | undefined;
  return async () => {
    const conduit = client();
    const refreshToken = await conduit.refreshToken();
    if (!refreshToken) {
      throw new ConduitError('UNAUTHENTICATED', 'Not signed in on this device: run `conduit login`.');
    }
    config ??= discoverIssuer(settings);
    let response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      response = await oidc.refreshTokenGrant(await config, refreshToken, { scope: settings.scope });
    } catch (err) {
      throw providerError(err, 'Renewing the sign-in (run `conduit login` if it ended)');
    }
    const tokens = tokensOf(response, 'Renewing the sign-in', refreshToken);
    if (identityFromSubject(tokens.subject) !== conduit.identity) {
      throw new ConduitError(
        'CONFIG',
        `The identity provider renewed the sign-in for another subject than ${conduit.identity}.`,
      );
    }
    if (tokens.refreshToken !== refreshToken) await conduit.saveRefreshToken(tokens.refreshToken);
    return tokens.idToken;
  };
}

/** Revokes a refresh token at the provider (RFC 7009); false if the provider could not be asked. */
export async function revokeRefreshToken(settings: OidcSettings, refreshToken: string): Promise<boolean> {
  try {
    await oidc.tokenRevocation(await discoverIssuer(settings), refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  } catch {
    return false;
  }
}
