import { VirgilAccessTokenSigner, type VirgilCrypto } from 'virgil-crypto';
import { Jwt, JwtVerifier } from 'virgil-sdk';
import { VirgilServiceError } from './errors.js';
import { VirgilIdentity } from './schemas.js';

export interface AppKey {
  appId: string;
  appKeyId: string;
  /** base64 of the app's exported public key. */
  appPublicKey: string;
}

// `Authorization: Virgil <header>.<body>.<signature>`, all three base64url; real tokens are < 1 KiB.
const AUTH_HEADER = /^Virgil ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const MAX_HEADER_LENGTH = 4096;

/**
 * Verifies Virgil JWTs the way the cloud does: header fields and VEDS512 signature against the app
 * key (virgil-sdk JwtVerifier), issuer = this app, then expiry. Expiry is checked only after the
 * signature so a forged token never learns more than "invalid"; an expired genuine token gets
 * 20304, which makes CardManager fetch a fresh token and retry once.
 */
export class TokenVerifier {
  private readonly verifier: JwtVerifier;

  constructor(
    private readonly app: AppKey,
    crypto: VirgilCrypto,
    private readonly now: () => number,
  ) {
    this.verifier = new JwtVerifier({
      apiKeyId: app.appKeyId,
      apiPublicKey: crypto.importPublicKey(app.appPublicKey),
      accessTokenSigner: new VirgilAccessTokenSigner(crypto),
    });
  }

  /** Returns the token's identity or throws a 401 VirgilServiceError. */
  identityOf(authorization: string | undefined): string {
    const match = authorization && authorization.length <= MAX_HEADER_LENGTH ? AUTH_HEADER.exec(authorization) : null;
    if (!match?.[1]) throw new VirgilServiceError('MISSING_TOKEN');
    const jwt = this.parse(match[1]);
    const { body } = jwt;
    if (body.iss !== `virgil-${this.app.appId}` || typeof body.exp !== 'number' || typeof body.sub !== 'string') {
      throw new VirgilServiceError('INVALID_TOKEN');
    }
    const identity = VirgilIdentity.safeParse(body.sub.startsWith('identity-') ? body.sub.slice(9) : '');
    if (!identity.success) throw new VirgilServiceError('INVALID_TOKEN');
    // Same rule as virgil-sdk `Jwt.isExpired`: whole seconds, expired once `exp` is in the past.
    if (body.exp < Math.floor(this.now() / 1000)) throw new VirgilServiceError('EXPIRED_TOKEN');
    return identity.data;
  }

  private parse(token: string): Jwt {
    try {
      const jwt = Jwt.fromString(token);
      if (this.verifier.verifyToken(jwt)) return jwt;
    } catch {
      // Undecodable parts or a signature the WASM verifier rejects outright: same answer as a bad one.
    }
    throw new VirgilServiceError('INVALID_TOKEN');
  }
}
