import type { Authenticator, ObjectStore, SyncAdmin, TokenIssuer } from '@conduit/shared';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DevAccounts } from '../auth/dev-accounts.js';
import type { ServerConfig } from '../config.js';
import type { IdentityDirectory } from '../redis/accounts.js';
import type { DeviceRepository } from '../redis/devices.js';
import type { GroupRepository } from '../redis/groups.js';
import type { PointerLedger } from '../redis/pointers.js';

/** Everything a route handler may use; built once per server. */
export interface AppContext {
  config: ServerConfig;
  redis: Redis;
  logger: Logger;
  authenticator: Authenticator;
  /** Present in dev auth mode only: its routes exist only then. */
  devAccounts?: DevAccounts;
  identities: IdentityDirectory;
  devices: DeviceRepository;
  groups: GroupRepository;
  ledger: PointerLedger;
  syncAdmin: SyncAdmin;
  objectStore: ObjectStore;
  virgilTokens: TokenIssuer;
  syncTokens: TokenIssuer;
}
