export { loadConfig, DEFAULTS as CONFIG_DEFAULTS } from './config.js';
export type { ServerConfig, AuthConfig, LogLevel } from './config.js';
export { startServer, startWorker } from './server.js';
export type { ServerDeps, RunningServer, RunningWorker } from './server.js';
export { S3ObjectStore } from './adapters/s3/s3-object-store.js';
export type { S3ObjectStoreOptions } from './adapters/s3/s3-object-store.js';
export { PURGE_QUEUE } from './purge/queue.js';
export { TwilioSyncAdmin, SyncRateLimitedError, SyncUnavailableError } from './adapters/twilio/twilio-sync-admin.js';
export { TwilioSyncTokenIssuer } from './adapters/twilio/sync-token-issuer.js';
