import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConduitError, Identity } from '@conduit/shared';
import { SignJWT, jwtVerify } from 'jose';
import type { Authenticator, Principal } from '@conduit/shared';

const ISSUER = 'conduit-dev';
const AUDIENCE = 'conduit-api';
export const SESSION_TTL_SECONDS = 12 * 3600;

/** Dev-mode sessions: HS256 JWTs whose `sub` is the identity. */
export class SessionTokens implements Authenticator {
  // A KeyObject, imported once: jose would otherwise import raw bytes on every verification.
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  async issue(identity: string, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + SESSION_TTL_SECONDS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(identity)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async authenticate(bearerToken: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(bearerToken, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp'],
      });
      return { identity: Identity.parse(payload.sub) };
    } catch (cause) {
      throw new ConduitError('UNAUTHENTICATED', undefined, undefined, { cause });
    }
  }
}
