/**
 * Twilio Sync access tokens (HS256 with the API key secret, `data_sync` grant) for one identity.
 * The real service and the devstack emulator verify the same token.
 */
import { ConduitError, type Expiring, type Identity, type TokenIssuer } from '@conduit/shared';
import twilio from 'twilio';

export interface TwilioSyncTokenIssuerOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  serviceSid: string;
  ttlSeconds: number;
}

/** Twilio caps access token lifetimes at 24 hours. */
const MAX_TTL_SECONDS = 86_400;

export class TwilioSyncTokenIssuer implements TokenIssuer {
  constructor(private readonly opts: TwilioSyncTokenIssuerOptions) {
    if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1 || opts.ttlSeconds > MAX_TTL_SECONDS) {
      throw new ConduitError('CONFIG', 'Sync token TTL must be 1..86400 seconds.');
    }
  }

  async issue(identity: Identity): Promise<Expiring<string>> {
    const { AccessToken } = twilio.jwt;
    const token = new AccessToken(this.opts.accountSid, this.opts.apiKeySid, this.opts.apiKeySecret, {
      identity,
      ttl: this.opts.ttlSeconds,
    });
    token.addGrant(new AccessToken.SyncGrant({ serviceSid: this.opts.serviceSid }));
    const value = token.toJwt();
    return { value, expiresAt: new Date(expOf(value) * 1000) };
  }
}

/** The token's own `exp` claim, so expiresAt matches what the service enforces to the second. */
function expOf(jwt: string): number {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
  if (typeof payload.exp !== 'number') throw new ConduitError('INTERNAL', 'Issued token has no expiry.');
  return payload.exp;
}
