import type { RedisClient } from './adapters/redis/connection.js';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit-log.js';
import { DEFAULT_RETENTION, DEFAULTS, type ServerConfig } from './config.js';
import { DeliveryService } from './delivery/delivery-service.js';
import type { DeliveryObserver } from './delivery/events.js';
import { FileService } from './files/file-service.js';
import { ObjectService } from './files/object-service.js';
import { PointerRegistry } from './files/pointer-registry.js';
import { UploadRepository } from './files/uploads/upload-repository.js';
import { UploadService } from './files/uploads/upload-service.js';
import { GroupService } from './groups/group-service.js';
import type { AppContext } from './http/context.js';
import type { AuthParts } from './identity/auth/wiring.js';
import { DeviceService } from './identity/device-service.js';
import { KeyTransitionService } from './identity/key-transition-service.js';
import type { HealDeps } from './delivery/sync/heal.js';
import { FeedNotifier } from './records/feed-notifier.js';
import { RecordService } from './records/record-service.js';
import { ArchivedFeed } from './records/archive/archived-feed.js';
import { IdentityDirectory } from './adapters/redis/accounts.js';
import { AnomalyRepository } from './adapters/redis/anomalies.js';
import type { DeviceRepository } from './adapters/redis/devices.js';
import { GroupRepository } from './adapters/redis/groups.js';
import { KeyTransitionRepository } from './adapters/redis/key-transitions.js';
import type { Keys } from './adapters/redis/keys.js';
import { PointerLedger } from './adapters/redis/pointers.js';
import { QuotaStore } from './adapters/redis/quotas.js';
import { RetiredCards } from './adapters/redis/retired-cards.js';
import { RecordStore } from './adapters/redis/records.js';
import { SyncWriteBudget } from './adapters/redis/token-bucket.js';
import { pointerClaimLifetimeMs, stillCounts } from './limits/claims.js';
import { QuotaRefunds } from './limits/quota-refunds.js';
import { DEFAULT_QUOTAS, Quotas } from './limits/quotas.js';
import { DEFAULT_REQUEST_LIMITS, RequestLimits } from './limits/request-limits.js';
import type { ServerDeps } from './server-deps.js';
import { deploymentRetentionOf, GroupRetention, type DeploymentRetention } from './lifecycle/group-retention.js';
import { LegalHolds } from './lifecycle/legal-holds.js';
import { ObjectEraser } from './lifecycle/object-eraser.js';
import { ObjectIndex } from './lifecycle/object-index.js';
import { identityDeletionOf } from './lifecycle/identity-deletion-wiring.js';
import { FileWithdrawal } from './lifecycle/withdrawal.js';
import { GroupDeletion } from './lifecycle/group-deletion.js';

/** What the API's services are built from: configuration, Redis, the adapters and the auth parts. */
export interface ApiWiring {
  config: ServerConfig;
  redis: RedisClient;
  keys: Keys;
  logger: Logger;
  adapters: ServerDeps;
  auth: AuthParts;
  devices: DeviceRepository;
  observer: Required<DeliveryObserver>;
}

/** The per-identity quotas (the API checks them; the worker's upload cleaner gives bytes back). */
export function quotasOf(config: ServerConfig, redis: RedisClient, keys: Keys): Quotas {
  return new Quotas({
    store: new QuotaStore(redis, keys),
    limits: { ...DEFAULT_QUOTAS, ...config.quotas },
    stillCounts: stillCounts({ ledger: new PointerLedger(redis, keys), groups: new GroupRepository(redis, keys) }),
    lifetimeMs: { pointers: pointerClaimLifetimeMs(config) },
  });
}

/** The upload service over its repository (the API and the worker's upload cleaner each build one). */
export function uploadServiceOf(
  config: ServerConfig,
  repo: UploadRepository,
  adapters: ServerDeps,
  logger: Logger,
  quotas: Quotas,
  index?: ObjectIndex,
) {
  return new UploadService({
    repo,
    quotas,
    ...(index ? { index } : {}),
    store: adapters.objectStore,
    ttlSeconds: config.uploads?.ttlSeconds ?? DEFAULTS.uploadTtlSeconds,
    logger,
  });
}

/**
 * The data lifecycle's parts (docs/lifecycle.md): the object index, legal holds, and the one
 * object eraser retention and erasure share. `onAuditEnqueued` kicks the worker's sealer.
 */
export function lifecycleOf(
  redis: RedisClient,
  keys: Keys,
  store: ServerDeps['objectStore'],
  audit: AuditLog,
  onAuditEnqueued?: (shard: number) => void,
  deployment: DeploymentRetention = DEFAULT_RETENTION,
) {
  const index = new ObjectIndex(redis, keys);
  const holds = new LegalHolds(redis, keys, audit);
  const refunds = new QuotaRefunds(redis, keys);
  const eraser = new ObjectEraser({
    redis,
    keys,
    store,
    index,
    holds,
    refunds,
    ...(onAuditEnqueued ? { onAuditEnqueued } : {}),
  });
  const policies = new GroupRetention(redis, keys, audit, deployment);
  return { index, holds, eraser, policies, refunds };
}
export type Lifecycle = ReturnType<typeof lifecycleOf>;

/** The records feed notifier: Sync writes spend the group map's bucket, like the worker's. */
function feedNotifierOf(w: ApiWiring, records: RecordStore, heal: HealDeps): FeedNotifier {
  const { config, redis, keys } = w;
  const settings = { ...DEFAULTS, ...config.delivery, ...config.records };
  return new FeedNotifier({
    records,
    heal,
    budget: new SyncWriteBudget(redis, keys, settings.syncWritesPerSecond),
    observer: w.observer,
    logger: w.logger,
    intervalMs: settings.feedNotifyIntervalMs,
    ttlSeconds: settings.feedNotifyTtlSeconds,
  });
}

/** Builds each domain service from its repositories and adapters, and hands them to the routes. */
export function buildAppContext(w: ApiWiring): AppContext {
  const { config, redis, keys, logger, adapters, auth, devices, observer } = w;
  const itemTtlSeconds = config.twilio.itemTtlSeconds;
  const groups = new GroupRepository(redis, keys);
  const ledger = new PointerLedger(redis, keys);
  const audit = new AuditLog(redis, keys);
  const { syncAdmin } = adapters;
  const shared = { groups, devices, ledger, syncAdmin, audit, observer, logger };
  const retired = new RetiredCards(redis, keys);
  const lifecycle = lifecycleOf(redis, keys, adapters.objectStore, audit, undefined, deploymentRetentionOf(config));
  const objects = new ObjectService(adapters.objectStore, lifecycle.index);
  const pointers = new PointerRegistry({ ...shared, itemTtlSeconds });
  const records = new RecordStore(redis, keys);
  const feedNotifier = feedNotifierOf(w, records, shared);
  const quotas = quotasOf(config, redis, keys);
  return {
    config,
    logger,
    authenticator: adapters.authenticator ?? auth.authenticator,
    ...auth.accounts,
    sessionState: auth.sessionState,
    authRate: auth.authRate,
    limits: new RequestLimits(redis, keys, { ...DEFAULT_REQUEST_LIMITS, ...config.requestLimits }),
    quotas,
    access: { groups, ledger },
    audit,
    groups: new GroupService({ ...shared, quotas, identities: new IdentityDirectory(redis, keys), retired }),
    objects,
    uploads: uploadServiceOf(config, new UploadRepository(redis, keys), adapters, logger, quotas, lifecycle.index),
    files: new FileService({ objects, pointers, quotas, index: lifecycle.index }),
    lifecycle,
    identityDeletion: identityDeletionOf({ config, redis, keys, adapters, audit, lifecycle, logger }),
    retiredCards: retired,
    withdrawal: new FileWithdrawal({ ledger, syncAdmin, logger, ...lifecycle }),
    groupDeletion: new GroupDeletion({ ...lifecycle, redis, keys, store: adapters.objectStore, syncAdmin, logger }),
    delivery: new DeliveryService({
      ledger,
      anomalies: new AnomalyRepository(redis, keys),
      audit,
      observer,
      itemTtlSeconds,
    }),
    records: new RecordService({
      records,
      objects,
      quotas,
      index: lifecycle.index,
      notifier: feedNotifier,
      ...(adapters.feedPages ? { archive: new ArchivedFeed(adapters.feedPages) } : {}),
    }),
    feedNotifier,
    devices: new DeviceService(shared),
    keyTransitions: new KeyTransitionService(
      new KeyTransitionRepository(redis, config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix),
    ),
    virgilTokens: adapters.virgilTokens,
    syncTokens: adapters.syncTokens,
  };
}
