import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CONFIG_DEFAULTS,
  generateOpaqueSetup,
  S3ObjectStore,
  startServer,
  startWorker,
  type ServerConfig,
  type SessionLifetimes,
} from '@conduit/server';
import type { LocalStackSettings } from '@conduit/shared';
import { ensureRedis } from './redis/index.js';
import { serverS3Config, startS3 } from './s3/index.js';
import { approveDeviceLogin } from './oidc/approve.js';
import { startOidcProvider, type LocalOidcProviderOptions } from './oidc/provider.js';
import { publishSettings } from './settings.js';
import {
  createSyncCredentials,
  startSyncEmulator,
  writeLimitFromEnv,
  type SyncCredentials,
  type SyncFaults,
  type SyncWriteLimit,
  type SyncWriteStats,
} from './sync/index.js';
import { createVirgilApp, startVirgilDirectory, type VirgilAppCredentials } from './virgil/index.js';

export interface LocalStackOptions {
  /** Where the stand-ins keep their state; reusing it keeps accounts, cards and objects. */
  dataDir: string;
  log?: (line: string) => void;
  /**
   * Redis to use (default REDIS_URL or 127.0.0.1:6379; one is started if none answers). A
   * `redis+cluster://host:port,...` URL names a Redis Cluster by its seed nodes.
   */
  redisUrl?: string;
  /**
   * A Redis Cluster (default: CONDUIT_STACK_REDIS_CLUSTER=1): the one at a `redis+cluster://`
   * redisUrl if it answers, else a fresh local one of three masters (its data does not outlive it).
   */
  redisCluster?: boolean;
  /**
   * Fixed ports (`conduit stack up`): the Conduit API on basePort, the Virgil directory on +1, the
   * Sync emulator on +2, S3 on +3. Default: free ports (tests run stacks side by side).
   */
  basePort?: number;
  logLevel?: ServerConfig['logLevel'];
  /** Server settings a test may tighten or loosen (rate limits, reserved names, admins, backstops). */
  server?: Pick<
    ServerConfig,
    'authRateLimit' | 'reservedIdentities' | 'adminIdentities' | 'delivery' | 'requestLimits' | 'quotas' | 'retention'
  >;
  /**
   * The Sync emulator's per-object write limit: Twilio's by default (20/s, burst 20), or what
   * CONDUIT_STACK_SYNC_WRITES_PER_SECOND / _WRITE_BURST say; null = unlimited. A test that raises
   * it says why.
   */
  syncWriteLimit?: SyncWriteLimit | null;
  /**
   * Token lifetimes (default: production's): tests of long-running endpoints shorten them to
   * seconds. The Sync emulator warns a fifth of a token's life before it expires; Virgil JWTs are
   * renewed 5 s ahead, so keep those above 5 s.
   */
  tokenLifetimes?: { sessions?: SessionLifetimes; syncSeconds?: number; virgilSeconds?: number };
  /**
   * Runs the API in OIDC mode against a local OpenID Provider (oidc/provider.ts; on basePort + 4
   * with fixed ports) instead of password accounts.
   */
  oidc?: boolean | LocalOidcProviderOptions;
}

/** The stack's local identity provider (OIDC mode only). */
export interface LocalStackOidc {
  issuer: string;
  clientId: string;
  /** Signs in at the provider as `subject` and approves the device login (no browser). */
  approve(verificationUriComplete: string, subject: string): Promise<void>;
}

export interface LocalStack {
  serverUrl: string;
  virgilApiUrl: string;
  virgilServicePublicKey: string;
  twilsockUri: string;
  redisUrl: string;
  /** Present when the stack runs in OIDC mode. */
  oidc?: LocalStackOidc;
  /** The variables a client (the `conduit` CLI) needs to use this stack. */
  clientEnv: Record<string, string>;
  /** The API's configuration (secrets included: a local stack only), e.g. for operator commands. */
  serverConfig: ServerConfig;
  /** Out-of-band views for demos and tests: what the clouds really hold. */
  inspect: {
    syncItemExists(map: string, key: string): Promise<boolean>;
    readObject(key: string): Promise<Buffer>;
    /** A GET on the Sync REST API with the account's (admin) credentials; `path` under the service. */
    syncGet(path: string): Promise<{ status: number; body: unknown }>;
    /** The emulator's write counters of a map (sid or unique name): writes, refused, most in 1 s. */
    syncWriteStats(map: string): Promise<SyncWriteStats>;
  };
  /**
   * What the operator's server holds: the Sync admin credentials and its Redis namespace. For
   * adversary tests that play a compromised server (forged Sync items, forged ledger records).
   */
  internals: {
    syncRestUrl: string;
    syncCredentials: SyncCredentials;
    /** The emulator's fault injection (its write limit included). */
    syncFaults: SyncFaults;
    redisKeyPrefix: string;
    /** Deletes a stored object, as whoever holds the bucket's credentials can. */
    deleteObject(key: string): Promise<void>;
  };
  stop(): Promise<void>;
}

/** Secrets a stack must keep across restarts of the same dataDir (cards are signed for this app). */
interface StackSecrets {
  virgilApp: VirgilAppCredentials;
  sessionSecret: string;
  /** OPAQUE server setup: generated once per dataDir, so restarts keep accounts valid. */
  opaqueServerSetup: string;
  /** Namespaces this stack's keys on a shared Redis. */
  redisKeyPrefix: string;
  /** The emulated Sync account: its maps (in sync.json) belong to this service. */
  sync: SyncCredentials;
}

/**
 * Starts the whole local stack: Redis, s3rver, the Virgil directory, the Sync emulator, the Conduit
 * API and its purge worker, wired exactly as production is, only with local URLs.
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const log = opts.log ?? (() => {});
  // The lockfile pins the AWS SDK, so its notice that future versions need Node 22 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    stops.length = 0;
  };
  try {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const secrets = await loadOrCreateSecrets(join(opts.dataDir, 'secrets.json'));

    const redis = await ensureRedis({
      url: opts.redisUrl,
      dataDir: join(opts.dataDir, 'redis'),
      cluster: opts.redisCluster,
    });
    stops.push(() => redis.close());
    const started = redis.url.startsWith('redis+cluster://') ? ' (started: 3 masters, AOF on)' : ' (started, AOF on)';
    log(`redis        ${redis.url}${redis.started ? started : ''}`);

    const portOf = (offset: number) => (opts.basePort === undefined ? 0 : opts.basePort + offset);
    const s3 = await startS3({ directory: join(opts.dataDir, 's3'), port: portOf(3) });
    stops.push(() => s3.close());
    log(`s3 (s3rver)  ${s3.endpoint} bucket=${s3.bucket}`);

    const { appId, appKeyId, appPublicKey } = secrets.virgilApp;
    const virgil = await startVirgilDirectory({
      appId,
      appKeyId,
      appPublicKey,
      dataFile: join(opts.dataDir, 'virgil.json'),
      port: portOf(1),
    });
    stops.push(() => virgil.close());
    log(`virgil       ${virgil.url}`);

    const syncCredentials = secrets.sync;
    const writeLimit = opts.syncWriteLimit === undefined ? writeLimitFromEnv() : opts.syncWriteLimit;
    const sync = await startSyncEmulator({
      ...syncCredentials,
      aclEnabled: true,
      port: portOf(2),
      dataFile: join(opts.dataDir, 'sync.json'),
      writeLimit,
    });
    stops.push(() => sync.close());
    log(`twilio sync  ${sync.twilsockUri} (REST ${sync.restUrl}; ${limitText(writeLimit)})`);

    const lifetimes = opts.tokenLifetimes ?? {};
    const oidcOptions = opts.oidc === true ? {} : opts.oidc || undefined;
    const oidc = oidcOptions && (await startOidcProvider({ port: portOf(4), ...oidcOptions }));
    if (oidc) {
      stops.push(() => oidc.close());
      log(`oidc         ${oidc.issuer} (client ${oidc.clientId})`);
    }

    const config: ServerConfig = {
      host: '127.0.0.1',
      port: portOf(0),
      redisUrl: redis.url,
      redisKeyPrefix: secrets.redisKeyPrefix,
      auth: oidc
        ? { mode: 'oidc', issuer: oidc.issuer, audience: oidc.clientId, jwksUrl: oidc.jwksUrl }
        : {
            mode: 'dev',
            sessionSecret: secrets.sessionSecret,
            opaqueServerSetup: secrets.opaqueServerSetup,
            sessions: lifetimes.sessions,
          },
      virgil: {
        appId,
        appKeyId,
        appPrivateKey: secrets.virgilApp.appPrivateKey,
        tokenTtlSeconds: lifetimes.virgilSeconds ?? CONFIG_DEFAULTS.virgilTokenTtlSeconds,
        // The server revokes cards and resets backups there when an identity is deleted.
        apiUrl: virgil.url,
      },
      twilio: {
        // The API key, as production: the server is never handed the account's auth token.
        accountSid: syncCredentials.accountSid,
        apiKeySid: syncCredentials.apiKeySid,
        apiKeySecret: syncCredentials.apiKeySecret,
        serviceSid: syncCredentials.serviceSid,
        restBaseUrl: sync.restUrl,
        // As in production: the emulator closes a connection when its token expires unrefreshed.
        tokenTtlSeconds: lifetimes.syncSeconds ?? CONFIG_DEFAULTS.syncTokenTtlSeconds,
        itemTtlSeconds: 14 * 24 * 3600,
      },
      s3: serverS3Config(s3),
      logLevel: opts.logLevel ?? 'warn',
      // Every local client (tests, benches, the demo) is 127.0.0.1: one address's budget would be
      // everyone's. Per-identity limits and quotas stay as in production.
      requestLimits: { perAddress: 1_000_000, anonymousPerAddress: 1_000_000 },
      ...opts.server,
    };
    const objectStore = new S3ObjectStore(config.s3);
    stops.push(async () => objectStore.close());
    const api = await startServer(config, { objectStore });
    stops.push(() => api.close());
    const worker = await startWorker(config, { objectStore });
    stops.push(() => worker.close());
    log(`conduit api  ${api.url} (+ purge worker)`);

    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    stops.push(async () => s3Client.destroy());
    const clientEnv: LocalStackSettings['clientEnv'] = {
      CONDUIT_SERVER_URL: api.url,
      CONDUIT_VIRGIL_API_URL: virgil.url,
      CONDUIT_VIRGIL_SERVICE_KEY: virgil.servicePublicKey,
      CONDUIT_TWILSOCK_URI: sync.twilsockUri,
      ...(oidc && { CONDUIT_OIDC_ISSUER: oidc.issuer, CONDUIT_OIDC_CLIENT_ID: oidc.clientId }),
    };
    stops.push(await publishSettings(opts.dataDir, clientEnv));
    const restAuth = `Basic ${Buffer.from(`${syncCredentials.accountSid}:${syncCredentials.authToken}`).toString('base64')}`;

    return {
      serverUrl: api.url,
      virgilApiUrl: virgil.url,
      virgilServicePublicKey: virgil.servicePublicKey,
      twilsockUri: sync.twilsockUri,
      redisUrl: redis.url,
      ...(oidc && { oidc: { issuer: oidc.issuer, clientId: oidc.clientId, approve: approveDeviceLogin } }),
      serverConfig: config,
      clientEnv,
      internals: {
        syncRestUrl: sync.restUrl,
        syncCredentials,
        syncFaults: sync.faults,
        redisKeyPrefix: secrets.redisKeyPrefix,
        async deleteObject(key) {
          await s3Client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
        },
      },
      inspect: {
        // Asks the emulator through the same Sync REST API the real service exposes.
        async syncItemExists(map, key) {
          const url = `${sync.restUrl}/v1/Services/${syncCredentials.serviceSid}/Maps/${encodeURIComponent(map)}/Items/${encodeURIComponent(key)}`;
          const res = await fetch(url, { headers: { authorization: restAuth } });
          await res.body?.cancel();
          if (res.status === 200) return true;
          if (res.status === 404) return false;
          throw new Error(`Sync REST answered ${res.status} for an item lookup`);
        },
        async syncGet(path) {
          const res = await fetch(`${sync.restUrl}/v1/Services/${syncCredentials.serviceSid}/${path}`, {
            headers: { authorization: restAuth },
          });
          const text = await res.text();
          return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
        },
        async syncWriteStats(map) {
          const res = await fetch(`${sync.restUrl}/__emulator/write-stats/${encodeURIComponent(map)}`, {
            headers: { authorization: restAuth },
          });
          if (res.status !== 200) throw new Error(`the Sync emulator answered ${res.status} for write stats`);
          return (await res.json()) as SyncWriteStats;
        },
        async readObject(key) {
          const out = await s3Client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
          return Buffer.from(await out.Body!.transformToByteArray());
        },
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function limitText(limit: SyncWriteLimit | null): string {
  return limit === null ? 'no write limit' : `${limit.perSecond} writes/s per object, burst ${limit.burst}`;
}

async function loadOrCreateSecrets(file: string): Promise<StackSecrets> {
  let stored: Partial<StackSecrets> | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<StackSecrets>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // A data folder from before OPAQUE gets its setup added (its legacy accounts migrate at login).
  if (stored?.virgilApp && stored.sessionSecret && stored.redisKeyPrefix && stored.opaqueServerSetup && stored.sync) {
    return stored as StackSecrets;
  }
  const secrets: StackSecrets = {
    virgilApp: stored?.virgilApp ?? (await createVirgilApp()),
    sessionSecret: stored?.sessionSecret ?? randomBytes(32).toString('base64url'),
    redisKeyPrefix: stored?.redisKeyPrefix ?? `conduit-dev-${randomBytes(4).toString('hex')}:`,
    opaqueServerSetup: stored?.opaqueServerSetup ?? (await generateOpaqueSetup()),
    sync: stored?.sync ?? createSyncCredentials(),
  };
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}
