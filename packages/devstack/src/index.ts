export { startS3, serverS3Config, S3RVER_CREDENTIALS, type LocalS3, type StartS3Options } from './s3/index.js';
export { applyLifecycle, deployLifecycle, DEPLOY_LIFECYCLE_FILE } from './s3/bucket-rules.js';
export {
  ensureRedis,
  DEFAULT_REDIS_URL,
  REDIS_CLUSTER_ENV,
  type EnsureRedisOptions,
  type LocalRedis,
} from './redis/index.js';
export { clusterSeeds, startRedisCluster, type ClusterNode } from './redis/cluster.js';
export { RedisStartError } from './redis/server.js';
export { startLocalStack, type LocalStack, type LocalStackOidc, type LocalStackOptions } from './stack.js';
export {
  startOidcProvider,
  DEFAULT_OIDC_ACCOUNTS,
  DEFAULT_OIDC_CLIENT_ID,
  type LocalOidcProvider,
  type LocalOidcProviderOptions,
} from './oidc/provider.js';
export { approveDeviceLogin } from './oidc/approve.js';
export * from './virgil/index.js';
export * from './sync/index.js';
export { runStack, stackBasePort, stackReadyLines } from './entry/stack-up.js';
export { runDemo, type DemoOptions, type DemoSignIn, type DemoStep } from './entry/demo.js';
export { DemoCheckFailed } from './entry/demo-check.js';
