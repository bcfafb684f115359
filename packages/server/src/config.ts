import { ConduitError } from '@conduit/shared';
import { z } from 'zod';

export type AuthConfig =
  { mode: 'dev'; sessionSecret: string } | { mode: 'oidc'; issuer: string; audience: string; jwksUrl: string };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Everything the server and worker need; a plain object so the dev stack can build it in code. */
export interface ServerConfig {
  host: string;
  port: number;
  redisUrl: string;
  /** Prefix of every Redis key (BullMQ included); tests use a random one to isolate. Default 'conduit:'. */
  redisKeyPrefix?: string;
  auth: AuthConfig;
  virgil: { appId: string; appKeyId: string; appPrivateKey: string; tokenTtlSeconds: number };
  twilio: {
    accountSid: string;
    authToken: string;
    apiKeySid: string;
    apiKeySecret: string;
    serviceSid: string;
    /** Only for the local Sync emulator. */
    restBaseUrl?: string;
    tokenTtlSeconds: number;
    /** TTL of pointer items in Sync: the backstop if purging ever fails. */
    itemTtlSeconds: number;
  };
  s3: {
    bucket: string;
    region: string;
    endpoint?: string;
    forcePathStyle: boolean;
    /** Both or neither; neither means the default AWS credential chain. */
    accessKeyId?: string;
    secretAccessKey?: string;
    presignTtlSeconds: number;
  };
  /** Purge tuning; defaults suit production. */
  purge?: { attempts?: number; backoffBaseMs?: number; backoffMaxMs?: number };
  logLevel: LogLevel;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  redisUrl: 'redis://127.0.0.1:6379',
  redisKeyPrefix: 'conduit:',
  s3Region: 'us-east-1',
  virgilTokenTtlSeconds: 3600,
  twilioTokenTtlSeconds: 3600,
  itemTtlSeconds: 14 * 24 * 3600,
  presignTtlSeconds: 900,
  logLevel: 'info',
} as const;

const text = z.string().trim().min(1).max(8192);
const url = z.url({ protocol: /^https?$/ });
const boolFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(0).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Reads configuration from the environment. Every problem is collected so one run names all of
 * them; only variable names are reported, never values (several are secrets).
 */
export function loadConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const missing: string[] = [];
  const invalid: string[] = [];

  function read<S extends z.ZodType>(name: string, schema: S, required: boolean): z.output<S> | undefined {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      if (required) missing.push(name);
      return undefined;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      invalid.push(name);
      return undefined;
    }
    return parsed.data;
  }
  const req = <S extends z.ZodType>(name: string, schema: S) => read(name, schema, true);
  const opt = <S extends z.ZodType>(name: string, schema: S) => read(name, schema, false);

  const authMode = req('CONDUIT_AUTH_MODE', z.enum(['dev', 'oidc']));
  let auth: AuthConfig | undefined;
  if (authMode === 'dev') {
    const sessionSecret = req('CONDUIT_SESSION_SECRET', z.string().min(32).max(1024));
    if (sessionSecret !== undefined) auth = { mode: 'dev', sessionSecret };
  } else if (authMode === 'oidc') {
    const issuer = req('CONDUIT_OIDC_ISSUER', text);
    const audience = req('CONDUIT_OIDC_AUDIENCE', text);
    const jwksUrl = req('CONDUIT_OIDC_JWKS_URL', url);
    if (issuer !== undefined && audience !== undefined && jwksUrl !== undefined) {
      auth = { mode: 'oidc', issuer, audience, jwksUrl };
    }
  }

  const config = {
    host: opt('CONDUIT_HOST', text) ?? DEFAULTS.host,
    port: opt('CONDUIT_PORT', port) ?? DEFAULTS.port,
    redisUrl: opt('REDIS_URL', z.url({ protocol: /^rediss?$/ })) ?? DEFAULTS.redisUrl,
    virgil: {
      appId: req('VIRGIL_APP_ID', text),
      appKeyId: req('VIRGIL_APP_KEY_ID', text),
      appPrivateKey: req('VIRGIL_APP_KEY', text),
      tokenTtlSeconds: DEFAULTS.virgilTokenTtlSeconds,
    },
    twilio: {
      accountSid: req('TWILIO_ACCOUNT_SID', text),
      authToken: req('TWILIO_AUTH_TOKEN', text),
      apiKeySid: req('TWILIO_API_KEY', text),
      apiKeySecret: req('TWILIO_API_SECRET', text),
      serviceSid: req('TWILIO_SYNC_SERVICE_SID', text),
      restBaseUrl: opt('TWILIO_SYNC_REST_URL', url),
      tokenTtlSeconds: DEFAULTS.twilioTokenTtlSeconds,
      itemTtlSeconds: DEFAULTS.itemTtlSeconds,
    },
    s3: {
      bucket: req('S3_BUCKET', z.string().min(3).max(63)),
      region: opt('S3_REGION', text) ?? DEFAULTS.s3Region,
      endpoint: opt('S3_ENDPOINT', url),
      forcePathStyle: opt('S3_FORCE_PATH_STYLE', boolFlag) ?? false,
      accessKeyId: opt('AWS_ACCESS_KEY_ID', text),
      secretAccessKey: opt('AWS_SECRET_ACCESS_KEY', text),
      presignTtlSeconds: DEFAULTS.presignTtlSeconds,
    },
    logLevel: opt('CONDUIT_LOG_LEVEL', logLevel) ?? DEFAULTS.logLevel,
  };

  // A lone key id or secret is a mistake, not a request for the default chain.
  const hasKeyId = config.s3.accessKeyId !== undefined;
  const hasSecret = config.s3.secretAccessKey !== undefined;
  if (hasKeyId !== hasSecret) missing.push(hasKeyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID');

  if (missing.length > 0 || invalid.length > 0 || auth === undefined) {
    const parts = [
      ...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []),
      ...(invalid.length > 0 ? [`invalid: ${invalid.join(', ')}`] : []),
    ];
    throw new ConduitError('CONFIG', `Configuration is missing or invalid (${parts.join('; ')}).`, {
      missing,
      invalid,
    });
  }
  // Every required field was checked above; the casts only drop `undefined` from their types.
  return { ...config, auth } as ServerConfig;
}
