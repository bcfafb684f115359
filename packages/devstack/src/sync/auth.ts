/**
 * Credentials of the emulated account and verification of what clients present:
 * access tokens (Twilsock) and Basic auth (REST).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';

export interface SyncCredentials {
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
  serviceSid: string;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function createSyncCredentials(): SyncCredentials {
  return {
    accountSid: `AC${hex(16)}`,
    authToken: hex(16),
    apiKeySid: `SK${hex(16)}`,
    apiKeySecret: hex(16),
    serviceSid: `IS${hex(16)}`,
  };
}

export interface TokenClaims {
  identity: string;
  /** Expiry in ms since the epoch. */
  expiresAt: number;
}

/**
 * Twilsock rejection: `status.code` 401 with a Twilio error code. 20104 makes the client emit
 * tokenExpired; 51114 is Twilsock's "Invalid access token header", 51121 its "Token expiration time
 * exceeds maximum"; every 401 puts the client in `denied`.
 */
export class TokenRejected extends Error {
  constructor(
    readonly errorCode: 51130 | 51121 | 51114 | 20104,
    message: string,
  ) {
    super(message);
  }
}

const MAX_TOKEN_LENGTH = 8 * 1024;
/** Twilio access tokens live at most 24 hours. */
const MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** The JOSE header content type Twilio requires of access tokens (the `twilio` library sets it). */
const ACCESS_TOKEN_CTY = 'twilio-fpa;v=1';

const AccessTokenPayload = z.object({
  iss: z.string(),
  sub: z.string(),
  exp: z.number(),
  iat: z.number().optional(),
  nbf: z.number().optional(),
  grants: z.object({
    identity: z.string().min(1).max(256),
    data_sync: z.object({ service_sid: z.string() }),
  }),
});

export class TokenVerifier {
  private readonly key: Uint8Array;

  constructor(private readonly creds: SyncCredentials) {
    this.key = new TextEncoder().encode(creds.apiKeySecret);
  }

  async verify(token: unknown): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenRejected(51130, 'Invalid access token');
    }
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenRejected(20104, 'Access token expired');
      throw new TokenRejected(51130, 'Invalid access token');
    }
    if (verified.protectedHeader.cty !== ACCESS_TOKEN_CTY) {
      throw new TokenRejected(51114, 'Invalid access token header');
    }
    const parsed = AccessTokenPayload.safeParse(verified.payload);
    if (parsed.success && lifetimeSeconds(parsed.data) > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new TokenRejected(51121, 'Token expiration time exceeds maximum');
    }
    if (
      !parsed.success ||
      parsed.data.iss !== this.creds.apiKeySid ||
      parsed.data.sub !== this.creds.accountSid ||
      parsed.data.grants.data_sync.service_sid !== this.creds.serviceSid
    ) {
      throw new TokenRejected(51130, 'Invalid access token');
    }
    return { identity: parsed.data.grants.identity, expiresAt: parsed.data.exp * 1000 };
  }
}

/**
 * From the token's start (`iat`, which the `twilio` library always sets; else `nbf`; else now) to
 * its `exp`.
 */
function lifetimeSeconds(claims: { exp: number; iat?: number | undefined; nbf?: number | undefined }): number {
  const start = claims.iat ?? claims.nbf ?? Math.floor(Date.now() / 1000);
  return claims.exp - start;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * REST Basic auth as Twilio takes it: the account SID with its auth token, or one of the account's
 * API keys (SK…) with that key's secret. Anything else (a key with the auth token, the account
 * with a key secret, another account's key) is refused; the caller answers 401 / 20003.
 */
export function checkBasicAuth(header: string | undefined, creds: SyncCredentials): boolean {
  if (!header?.startsWith('Basic ') || header.length > 1024) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  return (
    (safeEqual(user, creds.accountSid) && safeEqual(pass, creds.authToken)) ||
    (safeEqual(user, creds.apiKeySid) && safeEqual(pass, creds.apiKeySecret))
  );
}
