import type { Authenticator, TokenIssuer } from '@conduit/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { ServerConfig } from '../config.js';
import type { DeliveryService } from '../delivery/delivery-service.js';
import type { FileService } from '../files/file-service.js';
import type { ObjectService } from '../files/object-service.js';
import type { UploadService } from '../files/uploads/upload-service.js';
import type { GroupService } from '../groups/group-service.js';
import type { DevAccounts } from '../identity/auth/dev-accounts.js';
import type { DevSessions } from '../identity/auth/dev-sessions.js';
import type { OpaqueAccounts } from '../identity/auth/opaque-accounts.js';
import type { DeviceService } from '../identity/device-service.js';
import type { KeyTransitionService } from '../identity/key-transition-service.js';
import type { AuthRateLimiter } from '../adapters/redis/auth-rate.js';
import type { SessionState } from '../adapters/redis/sessions.js';
import type { Quotas } from '../limits/quotas.js';
import type { RequestLimits } from '../limits/request-limits.js';
import type { FeedNotifier } from '../records/feed-notifier.js';
import type { RecordService } from '../records/record-service.js';
import type { AccessDeps } from './access.js';
import type { Lifecycle } from '../app-context.js';
import type { IdentityDeletion } from '../lifecycle/identity-deletion.js';
import type { RetiredCards } from '../adapters/redis/retired-cards.js';
import type { FileWithdrawal } from '../lifecycle/withdrawal.js';
import type { GroupDeletion } from '../lifecycle/group-deletion.js';

/** Everything a route handler may use: the domain services and what the middleware checks; built once per server. */
export interface AppContext {
  config: ServerConfig;
  logger: Logger;
  authenticator: Authenticator;
  /** Present in dev auth mode only: its routes exist only then. */
  devAccounts?: DevAccounts;
  /** OPAQUE password accounts: dev auth mode only, like devAccounts. */
  opaqueAccounts?: OpaqueAccounts;
  /** Dev-mode access sessions and their refresh tokens (POST /v1/session/refresh). */
  devSessions?: DevSessions;
  /** Session epochs and operator locks, checked with the device on every authenticated request. */
  sessionState: SessionState;
  authRate: AuthRateLimiter;
  /** Inbound rate limits: per address on /v1, tighter on /v1/auth, per identity once authenticated. */
  limits: RequestLimits;
  quotas: Quotas;
  /** What the access checks read (http/access.ts). */
  access: AccessDeps;
  audit: AuditLog;
  groups: GroupService;
  objects: ObjectService;
  uploads: UploadService;
  files: FileService;
  delivery: DeliveryService;
  records: RecordService;
  /** Object index, legal holds and the object eraser (docs/lifecycle.md). */
  lifecycle: Lifecycle;
  /** Deleting an identity (DELETE /v1/identity; the operator's command builds its own). */
  identityDeletion: IdentityDeletion;
  /** Deleted identities' cards, kept for members to verify their kept files with. */
  retiredCards: RetiredCards;
  /** `DELETE /v1/pointers/:p`: the sender or the group owner withdraws a file. */
  withdrawal: FileWithdrawal;
  /** `DELETE /v1/groups/:g` (and identity deletion): tombstones a group for the worker to delete. */
  groupDeletion: GroupDeletion;
  /** Closed with the server: drops its scheduled trailing writes, waits for running ones. */
  feedNotifier: FeedNotifier;
  devices: DeviceService;
  keyTransitions: KeyTransitionService;
  virgilTokens: TokenIssuer;
  syncTokens: TokenIssuer;
}
