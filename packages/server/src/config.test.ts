import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const SECRET_VALUES = {
  CONDUIT_SESSION_SECRET: 'dev-session-secret-0123456789abcdef-XYZ',
  VIRGIL_APP_KEY: 'MC4CAQAwBQYDK2VwBCIEIPRIVATEKEYVALUE',
  TWILIO_API_SECRET: 'twilio-api-secret-value',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  CONDUIT_OPAQUE_SERVER_SETUP: `opaque-setup-${'Q'.repeat(100)}`,
};

const base: NodeJS.ProcessEnv = {
  CONDUIT_AUTH_MODE: 'dev',
  VIRGIL_APP_ID: 'app-id',
  VIRGIL_APP_KEY_ID: 'key-id',
  TWILIO_ACCOUNT_SID: 'ACxxxx',
  TWILIO_API_KEY: 'SKxxxx',
  TWILIO_SYNC_SERVICE_SID: 'ISxxxx',
  S3_BUCKET: 'conduit-objects',
  AWS_ACCESS_KEY_ID: 'AKIA',
  ...SECRET_VALUES,
};

function configError(env: NodeJS.ProcessEnv): ConduitError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConduitError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted invalid configuration');
}

describe('loadConfig', () => {
  it('builds a dev-mode config with defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      redisUrl: 'redis://127.0.0.1:6379',
      auth: {
        mode: 'dev',
        sessionSecret: SECRET_VALUES.CONDUIT_SESSION_SECRET,
        opaqueServerSetup: SECRET_VALUES.CONDUIT_OPAQUE_SERVER_SETUP,
      },
      virgil: { appId: 'app-id', appKeyId: 'key-id', appPrivateKey: SECRET_VALUES.VIRGIL_APP_KEY },
      twilio: { serviceSid: 'ISxxxx', itemTtlSeconds: 14 * 24 * 3600 },
      s3: { bucket: 'conduit-objects', region: 'us-east-1', forcePathStyle: false, accessKeyId: 'AKIA' },
      logLevel: 'info',
    });
    expect(config.twilio.restBaseUrl).toBeUndefined();
  });

  it('reads every optional variable', () => {
    const config = loadConfig({
      ...base,
      CONDUIT_HOST: '0.0.0.0',
      CONDUIT_PORT: '9000',
      REDIS_URL: 'redis://redis:6380',
      TWILIO_SYNC_REST_URL: 'http://127.0.0.1:4000',
      S3_REGION: 'eu-west-1',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      S3_FORCE_PATH_STYLE: 'true',
      CONDUIT_LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      redisUrl: 'redis://redis:6380',
      twilio: { restBaseUrl: 'http://127.0.0.1:4000' },
      s3: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4569', forcePathStyle: true },
      logLevel: 'debug',
    });
  });

  it('reads the purge worker options, bounded, and leaves unset ones to the defaults', () => {
    const config = loadConfig({
      ...base,
      CONDUIT_PURGE_CONCURRENCY: '64',
      CONDUIT_PURGE_LOCK_MS: '5000',
      CONDUIT_PURGE_STALLED_INTERVAL_MS: '1000',
    });
    expect(config.purge).toEqual({ concurrency: 64, lockDurationMs: 5000, stalledIntervalMs: 1000 });
    expect(loadConfig(base).purge).toEqual({});
    const err = configError({ ...base, CONDUIT_PURGE_CONCURRENCY: '0', CONDUIT_PURGE_LOCK_MS: '100' });
    expect(err.details).toEqual({ missing: [], invalid: ['CONDUIT_PURGE_CONCURRENCY', 'CONDUIT_PURGE_LOCK_MS'] });
  });

  it('reads the Sync token TTL (the revocation window of Sync access), bounded, default 15 min', () => {
    expect(loadConfig(base).twilio.tokenTtlSeconds).toBe(900);
    expect(loadConfig({ ...base, CONDUIT_SYNC_TOKEN_TTL_SECONDS: '300' }).twilio.tokenTtlSeconds).toBe(300);
    expect(loadConfig({ ...base, CONDUIT_SYNC_TOKEN_TTL_SECONDS: '60' }).twilio.tokenTtlSeconds).toBe(60);
    expect(loadConfig({ ...base, CONDUIT_SYNC_TOKEN_TTL_SECONDS: '86400' }).twilio.tokenTtlSeconds).toBe(86_400);
    for (const value of ['59', '86401', '0', '-5', '600.5', 'ten minutes']) {
      expect(configError({ ...base, CONDUIT_SYNC_TOKEN_TTL_SECONDS: value }).details).toEqual({
        missing: [],
        invalid: ['CONDUIT_SYNC_TOKEN_TTL_SECONDS'],
      });
    }
  });

  it('reads the session, refresh and Virgil token lifetimes, bounded; unset leaves the defaults', () => {
    const dev = loadConfig(base).auth;
    expect(dev.mode === 'dev' && dev.sessions).toEqual({});
    expect(loadConfig(base).virgil.tokenTtlSeconds).toBe(3600);
    const set = loadConfig({
      ...base,
      CONDUIT_SESSION_TTL_SECONDS: '900',
      CONDUIT_REFRESH_TTL_SECONDS: '86400',
      CONDUIT_REFRESH_IDLE_SECONDS: '3600',
      CONDUIT_VIRGIL_TOKEN_TTL_SECONDS: '600',
    });
    expect(set.auth.mode === 'dev' && set.auth.sessions).toEqual({
      ttlSeconds: 900,
      refreshTtlSeconds: 86_400,
      refreshIdleSeconds: 3600,
    });
    expect(set.virgil.tokenTtlSeconds).toBe(600);
    const err = configError({
      ...base,
      CONDUIT_SESSION_TTL_SECONDS: '59',
      CONDUIT_REFRESH_IDLE_SECONDS: 'a week',
      CONDUIT_VIRGIL_TOKEN_TTL_SECONDS: '86401',
    });
    expect(err.details).toEqual({
      missing: [],
      invalid: ['CONDUIT_SESSION_TTL_SECONDS', 'CONDUIT_REFRESH_IDLE_SECONDS', 'CONDUIT_VIRGIL_TOKEN_TTL_SECONDS'],
    });
  });

  it('reads the feed notification interval and TTL, bounded; unset leaves the defaults', () => {
    expect(loadConfig(base).records).toEqual({});
    expect(
      loadConfig({ ...base, CONDUIT_FEED_NOTIFY_INTERVAL_MS: '500', CONDUIT_FEED_NOTIFY_TTL_SECONDS: '600' }).records,
    ).toEqual({ feedNotifyIntervalMs: 500, feedNotifyTtlSeconds: 600 });
    const err = configError({ ...base, CONDUIT_FEED_NOTIFY_INTERVAL_MS: '10', CONDUIT_FEED_NOTIFY_TTL_SECONDS: '0' });
    expect(err.details).toEqual({
      missing: [],
      invalid: ['CONDUIT_FEED_NOTIFY_INTERVAL_MS', 'CONDUIT_FEED_NOTIFY_TTL_SECONDS'],
    });
  });

  it('builds an OIDC config and needs no session secret', () => {
    const { CONDUIT_SESSION_SECRET: _, ...rest } = base;
    const config = loadConfig({
      ...rest,
      CONDUIT_AUTH_MODE: 'oidc',
      CONDUIT_OIDC_ISSUER: 'https://idp.example',
      CONDUIT_OIDC_AUDIENCE: 'conduit',
      CONDUIT_OIDC_JWKS_URL: 'https://idp.example/jwks',
    });
    expect(config.auth).toEqual({
      mode: 'oidc',
      issuer: 'https://idp.example',
      audience: 'conduit',
      jwksUrl: 'https://idp.example/jwks',
    });
  });

  it('lists every missing variable by name', () => {
    const err = configError({});
    expect(err.code).toBe('CONFIG');
    expect(err.details).toEqual({
      missing: [
        'CONDUIT_AUTH_MODE',
        'VIRGIL_APP_ID',
        'VIRGIL_APP_KEY_ID',
        'VIRGIL_APP_KEY',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_API_KEY',
        'TWILIO_API_SECRET',
        'TWILIO_SYNC_SERVICE_SID',
        'S3_BUCKET',
      ],
      invalid: [],
    });
    expect(err.message).toContain('S3_BUCKET');
  });

  it('requires the variables of the chosen auth mode', () => {
    const { CONDUIT_SESSION_SECRET: _, ...rest } = base;
    expect(configError(rest).details).toEqual({ missing: ['CONDUIT_SESSION_SECRET'], invalid: [] });
    expect(configError({ ...base, CONDUIT_AUTH_MODE: 'oidc' }).details).toEqual({
      missing: ['CONDUIT_OIDC_ISSUER', 'CONDUIT_OIDC_AUDIENCE', 'CONDUIT_OIDC_JWKS_URL'],
      invalid: [],
    });
  });

  it('refuses dev (password) mode without an OPAQUE server setup', () => {
    const { CONDUIT_OPAQUE_SERVER_SETUP: _, ...rest } = base;
    expect(configError(rest).details).toEqual({ missing: ['CONDUIT_OPAQUE_SERVER_SETUP'], invalid: [] });
    expect(configError({ ...base, CONDUIT_OPAQUE_SERVER_SETUP: 'short' }).details).toEqual({
      missing: [],
      invalid: ['CONDUIT_OPAQUE_SERVER_SETUP'],
    });
  });

  it('reads the password attempt limits and reserved names, bounded', () => {
    const config = loadConfig({
      ...base,
      CONDUIT_AUTH_ATTEMPTS_PER_IDENTITY: '5',
      CONDUIT_AUTH_WINDOW_SECONDS: '60',
      CONDUIT_RESERVED_IDENTITIES: 'admin, billing',
    });
    expect(config.authRateLimit).toEqual({ attemptsPerIdentity: 5, windowSeconds: 60 });
    expect(config.reservedIdentities).toEqual(['admin', 'billing']);
    expect(loadConfig(base).reservedIdentities).toBeUndefined();
    expect(configError({ ...base, CONDUIT_AUTH_ATTEMPTS_PER_ADDRESS: '0' }).details).toEqual({
      missing: [],
      invalid: ['CONDUIT_AUTH_ATTEMPTS_PER_ADDRESS'],
    });
  });

  it('reads the request limits and quotas, bounded; unset leaves the defaults', () => {
    const config = loadConfig({
      ...base,
      CONDUIT_RATE_LIMIT_PER_IDENTITY: '100',
      CONDUIT_RATE_LIMIT_ANONYMOUS_PER_ADDRESS: '10',
      CONDUIT_RATE_LIMIT_WINDOW_SECONDS: '30',
      CONDUIT_QUOTA_STORED_BYTES: '1073741824',
      CONDUIT_QUOTA_OWNED_GROUPS: '5',
    });
    expect(config.requestLimits).toEqual({ perIdentity: 100, anonymousPerAddress: 10, windowSeconds: 30 });
    expect(config.quotas).toEqual({ storedBytes: 1073741824, ownedGroups: 5 });
    expect(loadConfig(base).requestLimits).toEqual({});
    expect(loadConfig(base).quotas).toEqual({});
    expect(
      configError({ ...base, CONDUIT_RATE_LIMIT_PER_ADDRESS: '0', CONDUIT_QUOTA_PENDING_POINTERS: '1.5' }).details,
    ).toEqual({ missing: [], invalid: ['CONDUIT_RATE_LIMIT_PER_ADDRESS', 'CONDUIT_QUOTA_PENDING_POINTERS'] });
  });

  it.each([
    { env: {}, mode: 'development' },
    { env: { NODE_ENV: 'production' }, mode: 'production' },
    { env: { NODE_ENV: 'test' }, mode: 'development' },
    { env: { CONDUIT_MODE: 'production' }, mode: 'production' },
    { env: { CONDUIT_MODE: 'production', NODE_ENV: 'development' }, mode: 'production' },
    { env: { CONDUIT_MODE: 'development', NODE_ENV: 'production' }, mode: 'development' },
  ])('run mode: $env is $mode', ({ env, mode }) => {
    expect(loadConfig({ ...base, ...env }).mode).toBe(mode);
  });

  it("takes Twilio's REST credentials from the API key only; production refuses an auth token", () => {
    const withToken = { ...base, TWILIO_AUTH_TOKEN: 'twilio-auth-token-value' };
    const config = loadConfig(withToken);
    expect(JSON.stringify(config)).not.toContain('twilio-auth-token-value');
    expect(config.twilio).toMatchObject({ apiKeySid: 'SKxxxx', apiKeySecret: 'twilio-api-secret-value' });
    expect(configError({ ...withToken, CONDUIT_MODE: 'production' }).details).toEqual({
      missing: [],
      invalid: ['TWILIO_AUTH_TOKEN'],
    });
  });

  it('reads the production settings: public URL, trusted proxies, registration', () => {
    const config = loadConfig({
      ...base,
      CONDUIT_MODE: 'production',
      CONDUIT_PUBLIC_URL: 'https://conduit.example.org',
      CONDUIT_TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::1, 203.0.113.7',
      CONDUIT_REGISTRATION: 'code',
    });
    expect(config).toMatchObject({
      publicUrl: 'https://conduit.example.org',
      trustProxy: ['loopback', '10.0.0.0/8', 'fd00::1', '203.0.113.7'],
      registration: 'code',
    });
    const defaults = loadConfig(base);
    expect(defaults.registration).toBe('open');
    expect(defaults.trustProxy).toBeUndefined();
    expect(defaults.publicUrl).toBeUndefined();
  });

  it.each(['true', '1', 'anyone', '10.0.0.0/33', '300.1.1.1', 'loopback,*', 'fd00::/129'])(
    'refuses CONDUIT_TRUST_PROXY=%s (never "believe everyone")',
    (value) => {
      expect(configError({ ...base, CONDUIT_TRUST_PROXY: value }).details).toEqual({
        missing: [],
        invalid: ['CONDUIT_TRUST_PROXY'],
      });
    },
  );

  it('refuses an unknown mode, registration or a non-http(s) public URL', () => {
    expect(
      configError({ ...base, CONDUIT_MODE: 'prod', CONDUIT_REGISTRATION: 'closed', CONDUIT_PUBLIC_URL: 'ftp://x' })
        .details,
    ).toEqual({ missing: [], invalid: ['CONDUIT_MODE', 'CONDUIT_PUBLIC_URL', 'CONDUIT_REGISTRATION'] });
  });

  it('names invalid variables without echoing any value', () => {
    const env = {
      ...base,
      CONDUIT_AUTH_MODE: 'dev',
      CONDUIT_SESSION_SECRET: 'too-short-secret-value',
      CONDUIT_PORT: 'eighty',
      REDIS_URL: 'http://not-redis',
      S3_FORCE_PATH_STYLE: 'yes',
      S3_ENDPOINT: 'ftp://x',
      CONDUIT_LOG_LEVEL: 'loud',
      AWS_SECRET_ACCESS_KEY: '',
    };
    const err = configError(env);
    expect(err.details).toEqual({
      missing: ['AWS_SECRET_ACCESS_KEY'],
      invalid: [
        'CONDUIT_SESSION_SECRET',
        'CONDUIT_PORT',
        'REDIS_URL',
        'S3_ENDPOINT',
        'S3_FORCE_PATH_STYLE',
        'CONDUIT_LOG_LEVEL',
      ],
    });
    const text = JSON.stringify({ message: err.message, details: err.details, body: err.toBody() });
    for (const value of [...Object.values(SECRET_VALUES), 'too-short-secret-value', 'eighty', 'not-redis', 'loud']) {
      expect(text).not.toContain(value);
    }
  });
});
