import type { Authenticator, DirectoryAdmin, SyncAdmin, TokenIssuer } from '@conduit/shared';
import type { Logger } from 'pino';
import type { ObjectStore } from '@conduit/shared';
import type { FeedPageStore } from './records/archive/page-store.js';
import type { DeliveryObserver } from './delivery/events.js';
import type { DeliveryMetrics } from './ops/metrics.js';

/** The outside world, injectable so tests (and the dev stack) can supply their own adapters. */
export interface ServerDeps {
  syncAdmin: SyncAdmin;
  objectStore: ObjectStore;
  /** Sealed pages of archived record feeds (records/archive/); without it nothing is archived. */
  feedPages?: FeedPageStore;
  virgilTokens: TokenIssuer;
  /** The key directory's administration (identity deletion); default: Virgil's REST API with virgilTokens. */
  directoryAdmin?: DirectoryAdmin;
  syncTokens: TokenIssuer;
  /** Replaces the authenticator chosen by `config.auth` (dev-mode register/login stay mounted). */
  authenticator?: Authenticator;
  logger?: Logger;
  /** Defaults to the process-wide registry (what /metrics serves). */
  metrics?: DeliveryMetrics;
  /** Delivery hooks; defaults to `metrics` (tests inject their own to observe purges). */
  observer?: DeliveryObserver;
}
