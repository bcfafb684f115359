import type { Authenticator, SyncAdmin, TokenIssuer } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DevAccounts } from '../identity/auth/dev-accounts.js';
import type { NamePolicy } from '../identity/auth/names.js';
import type { OpaqueAccounts } from '../identity/auth/opaque-accounts.js';
import type { AuthRateLimiter } from '../redis/auth-rate.js';
import type { SessionState } from '../redis/sessions.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ServerConfig } from '../config.js';
import type { DeliveryObserver } from '../delivery/events.js';
import type { IdentityDirectory } from '../redis/accounts.js';
import type { AnomalyRepository } from '../redis/anomalies.js';
import type { DeviceRepository } from '../redis/devices.js';
import type { GroupRepository } from '../redis/groups.js';
import type { PointerLedger } from '../redis/pointers.js';
import type { RecordStore } from '../redis/records.js';
import type { DeletableObjectStore, UploadService } from '../files/uploads/upload-service.js';

/** Everything a route handler may use; built once per server. */
export interface AppContext {
  config: ServerConfig;
  redis: Redis;
  logger: Logger;
  authenticator: Authenticator;
  /** Present in dev auth mode only: its routes exist only then. */
  devAccounts?: DevAccounts;
  /** OPAQUE password accounts: dev auth mode only, like devAccounts. */
  opaqueAccounts?: OpaqueAccounts;
  /** Session epochs and operator locks, checked with the device on every authenticated request. */
  sessionState: SessionState;
  authRate: AuthRateLimiter;
  names: NamePolicy;
  identities: IdentityDirectory;
  devices: DeviceRepository;
  groups: GroupRepository;
  ledger: PointerLedger;
  anomalies: AnomalyRepository;
  records: RecordStore;
  audit: AuditLog;
  /** Delivery metrics hooks (onAck is called here); no-ops unless injected. */
  observer: Required<DeliveryObserver>;
  syncAdmin: SyncAdmin;
  objectStore: DeletableObjectStore;
  uploads: UploadService;
  virgilTokens: TokenIssuer;
  syncTokens: TokenIssuer;
}
