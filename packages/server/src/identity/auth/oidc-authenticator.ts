import { ConduitError, identityFromSubject } from '@conduit/shared';
import type { Authenticator, Principal } from '@conduit/shared';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

/** Asymmetric algorithms only: an IdP's JWKS never legitimately signs with a shared secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Verifies the identity provider's JWTs against its JWKS; the identity is the `sub` claim mapped by
 * identityFromSubject (docs/identity.md, "OIDC subjects").
 */
export class OidcAuthenticator implements Authenticator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: { issuer: string; audience: string; jwksUrl: string }) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  }

  async authenticate(bearerToken: string): Promise<Principal> {
    let sub: unknown;
    let authTime: unknown;
    try {
      const { payload } = await jwtVerify(bearerToken, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
      });
      sub = payload.sub;
      authTime = payload.auth_time;
    } catch (cause) {
      // The IdP being unreachable or serving a broken key set is our outage, not a bad token.
      // (jose reports a non-200 JWKS response as a bare JOSEError.)
      const unreachable =
        !(cause instanceof errors.JOSEError) ||
        cause instanceof errors.JWKSTimeout ||
        cause instanceof errors.JWKSInvalid ||
        cause.constructor === errors.JOSEError;
      throw new ConduitError(unreachable ? 'DEPENDENCY_UNAVAILABLE' : 'UNAUTHENTICATED', undefined, undefined, {
        cause,
      });
    }
    if (typeof sub !== 'string') throw new ConduitError('UNAUTHENTICATED', 'The token has no subject.');
    try {
      const identity = identityFromSubject(sub);
      // auth_time: when the user last signed in at the provider (re-authentication, DELETE /v1/identity).
      return typeof authTime === 'number' && Number.isFinite(authTime) ? { identity, authTime } : { identity };
    } catch {
      throw new ConduitError('UNAUTHENTICATED', 'The token subject is not a valid subject.');
    }
  }
}
