export { loadConfig, DEFAULTS as CONFIG_DEFAULTS } from './config.js';
export type { ServerConfig, AuthConfig, LogLevel, SessionLifetimes } from './config.js';
export { startServer, startWorker } from './server.js';
export type { RunningServer, RunningWorker } from './server.js';
export type { ServerDeps } from './server-deps.js';
export { S3ObjectStore } from './adapters/s3/s3-object-store.js';
export type { S3ObjectStoreOptions } from './adapters/s3/s3-object-store.js';
export { PURGE_QUEUE } from './delivery/purge/queue.js';
export { TwilioSyncAdmin, SyncRateLimitedError, SyncUnavailableError } from './adapters/twilio/twilio-sync-admin.js';
export { TwilioSyncTokenIssuer } from './adapters/twilio/sync-token-issuer.js';
// Adapters a deployment (or a contract test) can wire on its own: the Sync REST client for a local
// emulator, the directory's JWT issuer, and the legacy password hash that migrations still read.
export { LocalSyncHttpClient } from './adapters/twilio/local-http-client.js';
export { VirgilTokenIssuer } from './adapters/virgil/virgil-token-issuer.js';
export { hashPassword } from './identity/auth/password.js';
export { runAccountCommand, ACCOUNT_COMMANDS } from './ops/account-commands.js';
export { generateOpaqueSetup } from './identity/auth/opaque.js';
export { processMetrics } from './ops/metrics.js';
// The Redis key layout and the pointer ledger, for tools that seed or inspect a deployment's state
// directly (the purge benchmarks).
export { createKeys, shardOf, KEY_SHARDS, SHARDS } from './adapters/redis/keys.js';
export { connectRedis, closeRedis, parseClusterUrl, type RedisClient } from './adapters/redis/connection.js';
export type { Keys } from './adapters/redis/keys.js';
export { PointerLedger } from './adapters/redis/pointers.js';
// The records store: the record-append bench compares per-version appends with one-pipeline batches.
export { RecordStore } from './adapters/redis/records.js';
// The request limiter: the limits bench compares one check with a Redis round trip.
export { RequestLimits } from './limits/request-limits.js';
// Legal holds and the audit log they write to: tests (and the operator's tooling) place holds.
export { LegalHolds } from './lifecycle/legal-holds.js';
export { AuditLog } from './audit/audit-log.js';
