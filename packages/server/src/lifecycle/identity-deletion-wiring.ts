import type { Keys } from '../adapters/redis/keys.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { DeviceRepository } from '../adapters/redis/devices.js';
import { GroupRepository } from '../adapters/redis/groups.js';
import { PointerLedger } from '../adapters/redis/pointers.js';
import { RetiredCards } from '../adapters/redis/retired-cards.js';
import { SessionState } from '../adapters/redis/sessions.js';
import { VirgilDirectoryAdmin } from '../adapters/virgil/virgil-directory-admin.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DEFAULTS, type ServerConfig } from '../config.js';
import { namePolicyOf } from '../identity/auth/names.js';
import type { ServerDeps } from '../server-deps.js';
import { ConduitError } from '@conduit/shared';
import type { Logger } from 'pino';
import { GroupDeletion } from './group-deletion.js';
import { IdentityDeletion, type OwnedGroupDeleter } from './identity-deletion.js';
import type { QuotaRefunds } from '../limits/quota-refunds.js';
import type { LegalHolds } from './legal-holds.js';
import type { ObjectEraser } from './object-eraser.js';
import type { ObjectIndex } from './object-index.js';

/**
 * The identity deletion service over Redis and the adapters: what the API (DELETE /v1/identity) and
 * the operator's `admin delete-identity` both build. Groups the identity owns (with `--with-groups`)
 * are deleted as their owner's `DELETE /v1/groups/:g` does (lifecycle/group-deletion.ts): tombstoned
 * now, emptied by the worker.
 */
export function identityDeletionOf(w: {
  config: ServerConfig;
  redis: RedisClient;
  keys: Keys;
  adapters: Pick<ServerDeps, 'syncAdmin' | 'virgilTokens' | 'directoryAdmin' | 'objectStore'>;
  audit: AuditLog;
  lifecycle: { index: ObjectIndex; holds: LegalHolds; eraser: ObjectEraser; refunds: QuotaRefunds };
  logger: Logger;
}): IdentityDeletion {
  const { config, redis, keys, adapters, audit, lifecycle, logger } = w;
  const groupDeletion = new GroupDeletion({
    ...lifecycle,
    redis,
    keys,
    store: adapters.objectStore,
    syncAdmin: adapters.syncAdmin,
    logger,
  });
  return new IdentityDeletion({
    redis,
    keys,
    groups: new GroupRepository(redis, keys),
    devices: new DeviceRepository(redis, keys),
    ledger: new PointerLedger(redis, keys),
    syncAdmin: adapters.syncAdmin,
    audit,
    holds: lifecycle.holds,
    index: lifecycle.index,
    eraser: lifecycle.eraser,
    directory: adapters.directoryAdmin ?? new VirgilDirectoryAdmin(adapters.virgilTokens, config.virgil.apiUrl),
    retired: new RetiredCards(redis, keys),
    sessions: new SessionState(redis, keys),
    names: namePolicyOf(config, redis, keys),
    sentFiles: config.retention?.sentFiles ?? DEFAULTS.erasureSentFiles,
    ownedGroups: ownedGroupsVia(groupDeletion),
  });
}

/** Owned groups go the way their owner's request would; one already being deleted is done. */
export function ownedGroupsVia(groups: Pick<GroupDeletion, 'delete'>): OwnedGroupDeleter {
  return {
    async deleteOwnedGroup(groupId, by, reason) {
      try {
        await groups.delete(groupId, by, reason);
      } catch (err) {
        if (!(err instanceof ConduitError && err.code === 'GROUP_NOT_FOUND')) throw err;
      }
    },
  };
}
