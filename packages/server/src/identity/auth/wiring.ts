import type { Authenticator } from '@conduit/shared';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Logger } from 'pino';
import { DEFAULTS, type ServerConfig } from '../../config.js';
import { AccountRepository } from '../../adapters/redis/accounts.js';
import { AuthFlows } from '../../adapters/redis/auth-flows.js';
import { AuthRateLimiter, DEFAULT_AUTH_RATE_LIMITS } from '../../adapters/redis/auth-rate.js';
import type { DeviceRepository } from '../../adapters/redis/devices.js';
import type { Keys } from '../../adapters/redis/keys.js';
import { RefreshTokens } from '../../adapters/redis/refresh-tokens.js';
import { SessionState } from '../../adapters/redis/sessions.js';
import { DevAccounts } from './dev-accounts.js';
import { DevSessions } from './dev-sessions.js';
import { namePolicyOf, type NamePolicy } from './names.js';
import { OidcAuthenticator } from './oidc-authenticator.js';
import { OpaqueServer } from './opaque.js';
import { OpaqueAccounts } from './opaque-accounts.js';
import { SessionTokens } from './session-tokens.js';

export interface AuthParts {
  authenticator: Authenticator;
  /** Dev auth mode only. */
  accounts: { devAccounts?: DevAccounts; opaqueAccounts?: OpaqueAccounts; devSessions?: DevSessions };
  sessionState: SessionState;
  authRate: AuthRateLimiter;
  names: NamePolicy;
}

/** Builds authentication from `config.auth`: OPAQUE and legacy accounts in dev mode, OIDC otherwise. */
export async function authOf(
  config: ServerConfig,
  redis: RedisClient,
  keys: Keys,
  devices: DeviceRepository,
  logger: Logger,
): Promise<AuthParts> {
  const sessionState = new SessionState(redis, keys);
  const authRate = new AuthRateLimiter(redis, keys, { ...DEFAULT_AUTH_RATE_LIMITS, ...config.authRateLimit });
  const names = namePolicyOf(config, redis, keys);
  if (config.auth.mode !== 'dev') {
    return { authenticator: new OidcAuthenticator(config.auth), accounts: {}, sessionState, authRate, names };
  }
  const lifetimes = config.auth.sessions ?? {};
  const sessions = new DevSessions(
    new SessionTokens(config.auth.sessionSecret, lifetimes.ttlSeconds ?? DEFAULTS.sessionTtlSeconds),
    new RefreshTokens(redis, keys, {
      ttlSeconds: lifetimes.refreshTtlSeconds ?? DEFAULTS.refreshTtlSeconds,
      idleSeconds: lifetimes.refreshIdleSeconds ?? DEFAULTS.refreshIdleSeconds,
    }),
  );
  let setup = config.auth.opaqueServerSetup;
  if (setup === undefined) {
    logger.warn('no OPAQUE server setup configured: using an ephemeral one, accounts end with this process');
    setup = await OpaqueServer.generateSetup();
  }
  const accounts = new AccountRepository(redis, keys);
  return {
    authenticator: sessions.authenticator,
    accounts: {
      devSessions: sessions,
      devAccounts: new DevAccounts(accounts, devices, sessions, sessionState, names),
      opaqueAccounts: new OpaqueAccounts(
        await OpaqueServer.create(setup),
        accounts,
        new AuthFlows(redis, keys),
        devices,
        sessions,
        sessionState,
        names,
      ),
    },
    sessionState,
    authRate,
    names,
  };
}
