import { ConduitError } from '@conduit/shared';
import type { Epochs, RefreshTokens } from '../../adapters/redis/refresh-tokens.js';
import type { SessionTokens } from './session-tokens.js';

/** What a dev-mode login or refresh hands the client. */
export interface DevSession {
  token: string;
  expiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/**
 * Dev-mode sessions: a short access token (SessionTokens) plus the device's refresh token, which
 * renews it without the password. Refusals name no more than the client needs to act on.
 */
export class DevSessions {
  constructor(
    private readonly tokens: SessionTokens,
    private readonly refresh: RefreshTokens,
  ) {}

  /** Verifies access tokens on every authenticated request. */
  get authenticator(): SessionTokens {
    return this.tokens;
  }

  /** After a login proof: a session of `deviceId` and a new refresh family (replacing the device's old one). */
  async open(identity: string, deviceId: string, epochs: Epochs): Promise<DevSession> {
    const access = await this.tokens.issue(identity, deviceId, new Date(), epochs);
    const family = await this.refresh.start(identity, deviceId, epochs);
    return { ...access, refreshToken: family.token, refreshExpiresAt: family.expiresAt };
  }

  /** Trades a refresh token for a new session and the family's next token (docs/api.md, /v1/session/refresh). */
  async renew(identity: string, deviceId: string, refreshToken: string): Promise<DevSession> {
    const result = await this.refresh.rotate(identity, deviceId, refreshToken);
    switch (result.status) {
      case 'rotated': {
        const access = await this.tokens.issue(identity, deviceId, new Date(), result.epochs);
        return { ...access, refreshToken: result.token, refreshExpiresAt: result.expiresAt };
      }
      case 'reused':
        throw new ConduitError('REFRESH_TOKEN_REUSED');
      case 'locked':
        throw new ConduitError('ACCOUNT_LOCKED');
      case 'revoked':
        throw new ConduitError('DEVICE_REVOKED');
      default:
        // unknown, expired, ended: one answer, so a guesser learns nothing about the family.
        throw new ConduitError(
          'UNAUTHENTICATED',
          'The refresh token is not valid (expired, ended or unknown): log in again.',
        );
    }
  }
}
