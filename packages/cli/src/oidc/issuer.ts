import { ConduitError } from '@conduit/shared';
import * as oidc from 'openid-client';

/** The identity provider the CLI signs in at (CONDUIT_OIDC_*; docs/cli.md). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  scope: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The issuer's configuration from its discovery document, for a public client (no secret: a CLI
 * cannot keep one). Plain http is allowed only on the loopback interface (the local devstack);
 * anywhere else the issuer must be https.
 */
export async function discoverIssuer(settings: OidcSettings): Promise<oidc.Configuration> {
  let url: URL;
  try {
    url = new URL(settings.issuer);
  } catch {
    throw new ConduitError('CONFIG', 'CONDUIT_OIDC_ISSUER is not a URL.');
  }
  const insecure = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !insecure) {
    throw new ConduitError('CONFIG', 'CONDUIT_OIDC_ISSUER must be an https URL (http only on 127.0.0.1/localhost).');
  }
  try {
    return await oidc.discovery(url, settings.clientId, undefined, oidc.None(), {
      ...(insecure && { execute: [oidc.allowInsecureRequests] }),
    });
  } catch (err) {
    throw providerError(err, 'Discovering the identity provider');
  }
}

/**
 * A typed error for a failed exchange with the provider: its OAuth error code (never a token) in
 * the message; `invalid_grant` means the sign-in is over (expired, revoked, or used twice).
 */
export function providerError(err: unknown, what: string): ConduitError {
  if (err instanceof ConduitError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    const code =
      err.error === 'invalid_grant' || err.error === 'access_denied'
        ? 'UNAUTHENTICATED'
        : err.error === 'server_error' || err.error === 'temporarily_unavailable'
          ? 'DEPENDENCY_UNAVAILABLE'
          : 'CONFIG';
    return new ConduitError(code, `${what} failed at the identity provider: ${err.error}.`);
  }
  if (err instanceof oidc.ClientError && err.code === 'OAUTH_INVALID_RESPONSE') {
    return new ConduitError('CONFIG', `${what}: the identity provider's answer is not valid.`);
  }
  return new ConduitError('DEPENDENCY_UNAVAILABLE', `${what}: the identity provider could not be reached.`, undefined, {
    cause: err,
  });
}
