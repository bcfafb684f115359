import { ConduitError, type RetentionRule } from '@conduit/shared';
import { z } from 'zod';
import {
  boolFlag,
  identityList,
  lockMs,
  logLevel,
  port,
  positiveInt,
  proxyList,
  redisUrl,
  retentionRule,
  syncTokenTtl,
  text,
  tokenTtl,
  uploadTtl,
  url,
} from './config-fields.js';

export type AuthConfig =
  | {
      mode: 'dev';
      sessionSecret: string;
      /**
       * OPAQUE server setup (CONDUIT_OPAQUE_SERVER_SETUP): required from the environment; a config
       * built in code without one gets an ephemeral setup, so its accounts die with the process.
       */
      opaqueServerSetup?: string;
      /** Mounts the pre-OPAQUE /auth/register and /auth/password routes: tests only, never from the environment. */
      legacyRoutes?: boolean;
      /** Session lifetimes (docs/configuration.md); defaults in DEFAULTS. */
      sessions?: SessionLifetimes;
    }
  | { mode: 'oidc'; issuer: string; audience: string; jwksUrl: string };

/** Dev-mode session lifetimes: the access token, its refresh token family, and a refresh token's idle limit. */
export interface SessionLifetimes {
  ttlSeconds?: number;
  refreshTtlSeconds?: number;
  refreshIdleSeconds?: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `production` refuses unsafe settings at start (startup/production.ts); absent = development. */
export type RunMode = 'development' | 'production';

/** Who may create a password account: anyone (`open`) or only holders of an operator's code (`code`). */
export type Registration = 'open' | 'code';

/** Everything the server and worker need; a plain object so the dev stack can build it in code. */
export interface ServerConfig {
  /** Absent = development (the local stack and tests build their config in code). */
  mode?: RunMode;
  host: string;
  port: number;
  /** The https:// URL clients use (CONDUIT_PUBLIC_URL); production mode requires one. */
  publicUrl?: string;
  /**
   * The reverse proxies whose X-Forwarded-For is believed (Express `trust proxy`): addresses,
   * CIDR subnets or `loopback`/`linklocal`/`uniquelocal`. Absent = the TCP peer is the client.
   */
  trustProxy?: string[];
  /** Password sign-up (dev auth mode); absent = open. OIDC mode leaves sign-up to the provider. */
  registration?: Registration;
  redisUrl: string;
  /** Prefix of every Redis key (BullMQ included); tests use a random one to isolate. Default 'conduit:'. */
  redisKeyPrefix?: string;
  auth: AuthConfig;
  virgil: {
    appId: string;
    appKeyId: string;
    appPrivateKey: string;
    tokenTtlSeconds: number;
    /** The key directory's REST API (identity deletion revokes cards there); default Virgil's cloud. */
    apiUrl?: string;
  };
  twilio: {
    accountSid: string;
    /** An API key (SK…) and its secret: every REST call and every Sync token (no auth token). */
    apiKeySid: string;
    apiKeySecret: string;
    serviceSid: string;
    /** Only for the local Sync emulator. */
    restBaseUrl?: string;
    /**
     * Life of Sync access tokens. Twilio cannot revoke one, so a revoked device keeps Sync access
     * until its token expires: this bounds that window.
     */
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
  purge?: {
    attempts?: number;
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    /** Purge jobs one worker process runs at once. */
    concurrency?: number;
    /** How long a job stays locked to its worker without a renewal (BullMQ lockDuration). */
    lockDurationMs?: number;
    /** How often workers look for jobs whose lock expired (a worker died) and requeue them. */
    stalledIntervalMs?: number;
  };
  /** Delivery backstops (issue 4); defaults in DEFAULTS. */
  delivery?: {
    /** Sync writes per second per Sync object (map), shared by every purge worker. */
    syncWritesPerSecond?: number;
    /** Pending pointers older than this are purged as 'expired'. */
    pointerMaxAgeSeconds?: number;
    sweepIntervalSeconds?: number;
    reconcileIntervalSeconds?: number;
    /** The reconciler leaves Sync items and 'purging' entries younger than this alone. */
    reconcileGraceSeconds?: number;
  };
  /** Records feed notifications (docs/records.md); defaults in DEFAULTS. */
  records?: {
    /** At most one Sync write of a group's `feed` item per interval, across every API process. */
    feedNotifyIntervalMs?: number;
    /** TTL of the `feed` item, refreshed by each write: it expires once the group is idle. */
    feedNotifyTtlSeconds?: number;
    /** Feed archive (records/archive/): each group keeps its newest versions and recent days in Redis. */
    feedTailVersions?: number;
    feedTailDays?: number;
    /** How often the worker moves older feed pages to S3. */
    feedArchiveIntervalSeconds?: number;
  };
  /** Data lifecycle (docs/lifecycle.md): deployment retention rules and the retention job; defaults in DEFAULTS. */
  retention?: {
    files?: RetentionRule;
    records?: RetentionRule;
    audit?: RetentionRule;
    /** How often the worker's retention job runs. */
    intervalSeconds?: number;
    /** Objects the retention job deletes per second at most, over every worker. */
    deletesPerSecond?: number;
    /** Identity deletion: whether the files it sent stay for the groups' other members. */
    sentFiles?: 'keep' | 'delete';
  };
  /** Identities allowed on admin routes (queue dashboard, audit); empty = no admin access. */
  adminIdentities?: string[];
  /** Names only an operator's bootstrap code may register (admin identities are always reserved). */
  reservedIdentities?: string[];
  /** Password attempts (register, login, migrate) per identity and per client address per window. */
  authRateLimit?: { attemptsPerIdentity?: number; attemptsPerAddress?: number; windowSeconds?: number };
  /** Inbound requests per window per identity and per client address (limits/request-limits.ts). */
  requestLimits?: { perIdentity?: number; perAddress?: number; anonymousPerAddress?: number; windowSeconds?: number };
  /** Per-identity quotas (limits/quotas.ts). */
  quotas?: { storedBytes?: number; pendingPointers?: number; ownedGroups?: number };
  /** Operational endpoints: /metrics bearer token, and an optional separate probe/metrics listener. */
  ops?: { metricsToken?: string; port?: number; host?: string };
  /** Multipart uploads: lifetime before the worker aborts them, and how often it looks. */
  uploads?: { ttlSeconds?: number; sweepIntervalMs?: number };
  logLevel: LogLevel;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  redisUrl: 'redis://127.0.0.1:6379',
  redisKeyPrefix: 'conduit:',
  s3Region: 'us-east-1',
  virgilTokenTtlSeconds: 3600,
  sessionTtlSeconds: 12 * 3600,
  refreshTtlSeconds: 30 * 86_400,
  refreshIdleSeconds: 7 * 86_400,
  syncTokenTtlSeconds: 900,
  itemTtlSeconds: 14 * 24 * 3600,
  presignTtlSeconds: 900,
  uploadTtlSeconds: 24 * 3600,
  logLevel: 'info',
  syncWritesPerSecond: 15,
  pointerMaxAgeSeconds: 7 * 24 * 3600,
  sweepIntervalSeconds: 300,
  reconcileIntervalSeconds: 900,
  reconcileGraceSeconds: 600,
  feedNotifyIntervalMs: 200,
  feedNotifyTtlSeconds: 3600,
  feedTailVersions: 1000,
  feedTailDays: 7,
  feedArchiveIntervalSeconds: 3600,
  retentionIntervalSeconds: 3600,
  retentionDeletesPerSecond: 5000,
  erasureSentFiles: 'keep',
} as const;

/** Deployment defaults of the retention rules: nothing is deleted until the operator says so. */
export const DEFAULT_RETENTION: Readonly<Record<'files' | 'records' | 'audit', RetentionRule>> = {
  files: { kind: 'keep' },
  records: { kind: 'keep' },
  audit: { kind: 'keep' },
};

/** CONDUIT_MODE wins; otherwise NODE_ENV=production means production (`CONDUIT_MODE=development` overrides it). */
function modeOf(explicit: RunMode | undefined, nodeEnv: string | undefined): RunMode {
  return explicit ?? (nodeEnv?.trim() === 'production' ? 'production' : 'development');
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

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
    // Generated once (`conduit-server admin opaque-setup`) and kept: a new one invalidates every account.
    const opaqueServerSetup = req('CONDUIT_OPAQUE_SERVER_SETUP', z.string().regex(/^[A-Za-z0-9_-]{64,1024}={0,2}$/));
    const sessions = definedOnly({
      ttlSeconds: opt('CONDUIT_SESSION_TTL_SECONDS', tokenTtl(7 * 86_400)),
      refreshTtlSeconds: opt('CONDUIT_REFRESH_TTL_SECONDS', tokenTtl(365 * 86_400)),
      refreshIdleSeconds: opt('CONDUIT_REFRESH_IDLE_SECONDS', tokenTtl(365 * 86_400)),
    });
    if (sessionSecret !== undefined && opaqueServerSetup !== undefined) {
      auth = { mode: 'dev', sessionSecret, opaqueServerSetup, sessions };
    }
  } else if (authMode === 'oidc') {
    const issuer = req('CONDUIT_OIDC_ISSUER', text);
    const audience = req('CONDUIT_OIDC_AUDIENCE', text);
    const jwksUrl = req('CONDUIT_OIDC_JWKS_URL', url);
    if (issuer !== undefined && audience !== undefined && jwksUrl !== undefined) {
      auth = { mode: 'oidc', issuer, audience, jwksUrl };
    }
  }

  const config = {
    mode: modeOf(opt('CONDUIT_MODE', z.enum(['development', 'production'])), env.NODE_ENV),
    host: opt('CONDUIT_HOST', text) ?? DEFAULTS.host,
    port: opt('CONDUIT_PORT', port) ?? DEFAULTS.port,
    publicUrl: opt('CONDUIT_PUBLIC_URL', url),
    trustProxy: opt('CONDUIT_TRUST_PROXY', proxyList),
    registration: opt('CONDUIT_REGISTRATION', z.enum(['open', 'code'])) ?? 'open',
    redisUrl: opt('REDIS_URL', redisUrl) ?? DEFAULTS.redisUrl,
    virgil: {
      appId: req('VIRGIL_APP_ID', text),
      appKeyId: req('VIRGIL_APP_KEY_ID', text),
      appPrivateKey: req('VIRGIL_APP_KEY', text),
      tokenTtlSeconds: opt('CONDUIT_VIRGIL_TOKEN_TTL_SECONDS', tokenTtl(86_400)) ?? DEFAULTS.virgilTokenTtlSeconds,
      apiUrl: opt('CONDUIT_VIRGIL_API_URL', url),
    },
    twilio: {
      accountSid: req('TWILIO_ACCOUNT_SID', text),
      apiKeySid: req('TWILIO_API_KEY', text),
      apiKeySecret: req('TWILIO_API_SECRET', text),
      serviceSid: req('TWILIO_SYNC_SERVICE_SID', text),
      restBaseUrl: opt('TWILIO_SYNC_REST_URL', url),
      tokenTtlSeconds: opt('CONDUIT_SYNC_TOKEN_TTL_SECONDS', syncTokenTtl) ?? DEFAULTS.syncTokenTtlSeconds,
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
    uploads: {
      ttlSeconds: opt('CONDUIT_UPLOAD_TTL_SECONDS', uploadTtl) ?? DEFAULTS.uploadTtlSeconds,
    },
    logLevel: opt('CONDUIT_LOG_LEVEL', logLevel) ?? DEFAULTS.logLevel,
    adminIdentities: opt('CONDUIT_ADMIN_IDENTITIES', identityList) ?? [],
    reservedIdentities: opt('CONDUIT_RESERVED_IDENTITIES', identityList),
    authRateLimit: definedOnly({
      attemptsPerIdentity: opt('CONDUIT_AUTH_ATTEMPTS_PER_IDENTITY', positiveInt(1_000_000)),
      attemptsPerAddress: opt('CONDUIT_AUTH_ATTEMPTS_PER_ADDRESS', positiveInt(1_000_000)),
      windowSeconds: opt('CONDUIT_AUTH_WINDOW_SECONDS', positiveInt(86_400)),
    }),
    requestLimits: definedOnly({
      perIdentity: opt('CONDUIT_RATE_LIMIT_PER_IDENTITY', positiveInt(100_000_000)),
      perAddress: opt('CONDUIT_RATE_LIMIT_PER_ADDRESS', positiveInt(100_000_000)),
      anonymousPerAddress: opt('CONDUIT_RATE_LIMIT_ANONYMOUS_PER_ADDRESS', positiveInt(100_000_000)),
      windowSeconds: opt('CONDUIT_RATE_LIMIT_WINDOW_SECONDS', positiveInt(86_400)),
    }),
    quotas: definedOnly({
      // JSON numbers stay exact up to 2^53 (8 PiB).
      storedBytes: opt('CONDUIT_QUOTA_STORED_BYTES', positiveInt(Number.MAX_SAFE_INTEGER)),
      pendingPointers: opt('CONDUIT_QUOTA_PENDING_POINTERS', positiveInt(100_000_000)),
      ownedGroups: opt('CONDUIT_QUOTA_OWNED_GROUPS', positiveInt(100_000_000)),
    }),
    delivery: definedOnly({
      syncWritesPerSecond: opt('CONDUIT_SYNC_WRITES_PER_SECOND', positiveInt(100_000)),
      pointerMaxAgeSeconds: opt('CONDUIT_POINTER_MAX_AGE_SECONDS', positiveInt(365 * 24 * 3600)),
      sweepIntervalSeconds: opt('CONDUIT_SWEEP_INTERVAL_SECONDS', positiveInt(86_400)),
      reconcileIntervalSeconds: opt('CONDUIT_RECONCILE_INTERVAL_SECONDS', positiveInt(86_400)),
      reconcileGraceSeconds: opt('CONDUIT_RECONCILE_GRACE_SECONDS', positiveInt(86_400)),
    }),
    records: definedOnly({
      // Twilio takes ~20 writes/s per map: under 50 ms one group could spend it all on notifications.
      feedNotifyIntervalMs: opt('CONDUIT_FEED_NOTIFY_INTERVAL_MS', z.coerce.number().int().min(50).max(60_000)),
      feedNotifyTtlSeconds: opt(
        'CONDUIT_FEED_NOTIFY_TTL_SECONDS',
        z.coerce
          .number()
          .int()
          .min(60)
          .max(30 * 86_400),
      ),
      feedTailVersions: opt('CONDUIT_FEED_TAIL_VERSIONS', positiveInt(10_000_000)),
      feedTailDays: opt('CONDUIT_FEED_TAIL_DAYS', z.coerce.number().int().min(0).max(3650)),
      feedArchiveIntervalSeconds: opt('CONDUIT_FEED_ARCHIVE_INTERVAL_SECONDS', positiveInt(7 * 86_400)),
    }),
    retention: definedOnly({
      files: opt('CONDUIT_RETENTION_FILES', retentionRule(true)),
      records: opt('CONDUIT_RETENTION_RECORDS', retentionRule(false)),
      audit: opt('CONDUIT_RETENTION_AUDIT', retentionRule(false)),
      intervalSeconds: opt('CONDUIT_RETENTION_INTERVAL_SECONDS', positiveInt(7 * 86_400)),
      deletesPerSecond: opt('CONDUIT_RETENTION_DELETES_PER_SECOND', positiveInt(1_000_000)),
      sentFiles: opt('CONDUIT_ERASURE_SENT_FILES', z.enum(['keep', 'delete'])),
    }),
    ops: {
      metricsToken: opt('CONDUIT_METRICS_TOKEN', z.string().regex(/^\S{32,512}$/)),
      port: opt('CONDUIT_OPS_PORT', port),
      host: opt('CONDUIT_OPS_HOST', text),
    },
    // Unset variables are left out, not set to undefined: the tuning is spread over its defaults.
    purge: definedOnly({
      attempts: opt('CONDUIT_PURGE_ATTEMPTS', positiveInt(100)),
      backoffBaseMs: opt('CONDUIT_PURGE_BACKOFF_BASE_MS', positiveInt(3_600_000)),
      backoffMaxMs: opt('CONDUIT_PURGE_BACKOFF_MAX_MS', positiveInt(24 * 3_600_000)),
      concurrency: opt('CONDUIT_PURGE_CONCURRENCY', positiveInt(1000)),
      lockDurationMs: opt('CONDUIT_PURGE_LOCK_MS', lockMs),
      stalledIntervalMs: opt('CONDUIT_PURGE_STALLED_INTERVAL_MS', lockMs),
    }),
  };

  // The account's master credential has no use here; in production its presence is refused.
  if (config.mode === 'production' && env.TWILIO_AUTH_TOKEN !== undefined) invalid.push('TWILIO_AUTH_TOKEN');

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
