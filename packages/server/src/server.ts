import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Authenticator, ObjectStore, SyncAdmin, TokenIssuer } from '@conduit/shared';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DevAccounts } from './auth/dev-accounts.js';
import { OidcAuthenticator } from './auth/oidc-authenticator.js';
import { SessionTokens } from './auth/session-tokens.js';
import { DEFAULTS, type ServerConfig } from './config.js';
import { createApp } from './http/app.js';
import type { AppContext } from './http/context.js';
import { createLogger } from './logger.js';
import { OutboxRelay } from './purge/outbox-relay.js';
import { createPurgeWorker } from './purge/purge-worker.js';
import { DEFAULT_PURGE_TUNING, PURGE_QUEUE, type PurgeJobData, type PurgeTuning } from './purge/queue.js';
import { AccountRepository, IdentityDirectory } from './redis/accounts.js';
import { closeRedis, connectRedis } from './redis/connection.js';
import { DeviceRepository } from './redis/devices.js';
import { GroupRepository } from './redis/groups.js';
import { createKeys } from './redis/keys.js';
import { PointerLedger } from './redis/pointers.js';

/** The outside world, injectable so tests (and the dev stack) can supply their own adapters. */
export interface ServerDeps {
  syncAdmin: SyncAdmin;
  objectStore: ObjectStore;
  virgilTokens: TokenIssuer;
  syncTokens: TokenIssuer;
  /** Replaces the authenticator chosen by `config.auth` (dev-mode register/login stay mounted). */
  authenticator?: Authenticator;
  logger?: Logger;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface RunningWorker {
  close(): Promise<void>;
}

/** Fills in whatever the caller did not inject from configuration (real Twilio, Virgil, S3). */
async function resolveDeps(config: ServerConfig, deps: Partial<ServerDeps>): Promise<ServerDeps> {
  const { syncAdmin, objectStore, virgilTokens, syncTokens } = deps;
  if (syncAdmin && objectStore && virgilTokens && syncTokens)
    return { ...deps, syncAdmin, objectStore, virgilTokens, syncTokens };
  // Loaded lazily: the real adapters are only needed when nothing was injected.
  const { composeDefaults } = await import('./compose.js');
  return { ...composeDefaults(config), ...stripUndefined(deps) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const keysOf = (config: ServerConfig) => createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
const tuningOf = (config: ServerConfig): PurgeTuning => ({ ...DEFAULT_PURGE_TUNING, ...config.purge });

/** Starts the HTTP API. Listens on config.host:config.port (port 0 picks a free port). */
export async function startServer(config: ServerConfig, deps: Partial<ServerDeps> = {}): Promise<RunningServer> {
  const resolved = await resolveDeps(config, deps);
  const logger = resolved.logger ?? createLogger(config.logLevel);
  const keys = keysOf(config);
  const redis = connectRedis(config.redisUrl, 'command');

  let devAccounts: DevAccounts | undefined;
  let authenticator: Authenticator;
  if (config.auth.mode === 'dev') {
    const sessions = new SessionTokens(config.auth.sessionSecret);
    devAccounts = new DevAccounts(new AccountRepository(redis, keys), sessions);
    authenticator = resolved.authenticator ?? sessions;
  } else {
    authenticator = resolved.authenticator ?? new OidcAuthenticator(config.auth);
  }

  const ctx: AppContext = {
    config,
    redis,
    logger,
    authenticator,
    ...(devAccounts ? { devAccounts } : {}),
    identities: new IdentityDirectory(redis, keys),
    devices: new DeviceRepository(redis, keys),
    groups: new GroupRepository(redis, keys),
    ledger: new PointerLedger(redis, keys),
    syncAdmin: resolved.syncAdmin,
    objectStore: resolved.objectStore,
    virgilTokens: resolved.virgilTokens,
    syncTokens: resolved.syncTokens,
  };

  const server = createServer(createApp(ctx));
  // Slow-loris and idle-connection bounds; bodies are tiny (16 KiB).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  try {
    await listen(server, config.port, config.host);
  } catch (err) {
    await closeRedis(redis);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(config.host)}:${port}`;
  logger.info({ url, auth: config.auth.mode }, 'conduit api listening');

  return {
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await closeRedis(redis);
    },
  };
}

/** Starts the outbox relay and the BullMQ purge worker. */
export async function startWorker(config: ServerConfig, deps: Partial<ServerDeps> = {}): Promise<RunningWorker> {
  const resolved = await resolveDeps(config, deps);
  const logger = resolved.logger ?? createLogger(config.logLevel);
  const keys = keysOf(config);
  const tuning = tuningOf(config);
  const redis = connectRedis(config.redisUrl, 'command');
  const blocking = connectRedis(config.redisUrl, 'blocking');
  const bullConnection = connectRedis(config.redisUrl, 'blocking');
  const ledger = new PointerLedger(redis, keys);

  const queue = new Queue<PurgeJobData>(PURGE_QUEUE, { connection: redis, prefix: keys.bullPrefix() });
  const worker = createPurgeWorker({
    connection: bullConnection,
    prefix: keys.bullPrefix(),
    syncAdmin: resolved.syncAdmin,
    ledger,
    tuning,
    logger,
  });
  const relay = new OutboxRelay({ redis, blocking, keys, ledger, queue, tuning, logger });
  try {
    await worker.waitUntilReady();
    await relay.start();
  } catch (err) {
    await worker.close();
    await queue.close();
    await Promise.all([redis, blocking, bullConnection].map(closeRedis));
    throw err;
  }
  logger.info('conduit purge worker running');

  return {
    async close() {
      await relay.stop();
      await worker.close();
      await queue.close();
      await Promise.all([redis, blocking, bullConnection].map(closeRedis));
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
