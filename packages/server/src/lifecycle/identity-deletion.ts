import { ConduitError, type AuditEntry, type DirectoryAdmin, type IdentityDeletionReport } from '@conduit/shared';
import { encodeEntry } from '../audit/audit-log.js';
import { newEntryId, pendingItem } from '../audit/pending.js';
import { removeMember, type DepartureDeps } from '../delivery/departures.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { identityDeletionShard, type Keys } from '../adapters/redis/keys.js';
import { FinishIdentityDeletionReply } from '../redis/script-replies.js';
import { defineScripts } from '../redis/script-loader.js';
import type { NamePolicy } from '../identity/auth/names.js';
import type { SessionState } from '../adapters/redis/sessions.js';
import type { RetiredCards } from '../adapters/redis/retired-cards.js';
import type { LegalHolds } from './legal-holds.js';
import { eraseSentObjects } from './sent-objects.js';
import type { ObjectEraser } from './object-eraser.js';
import type { ObjectIndex } from './object-index.js';

/**
 * Deletes a group the identity owns, resumably (the group-deletion service, docs/lifecycle.md):
 * repeating a call for a group deleted already does nothing.
 */
export interface OwnedGroupDeleter {
  deleteOwnedGroup(groupId: string, by: string, reason: string | undefined): Promise<void>;
}

export type SentFilesPolicy = 'keep' | 'delete';

export interface IdentityDeletionDeps extends DepartureDeps {
  redis: RedisClient;
  keys: Keys;
  holds: Pick<LegalHolds, 'assertNone'>;
  index: ObjectIndex;
  eraser: Pick<ObjectEraser, 'erase'>;
  directory: DirectoryAdmin;
  /** Where the identity's cards are kept before the directory revokes them. */
  retired: Pick<RetiredCards, 'keep'>;
  sessions: Pick<SessionState, 'revokeAll'>;
  names: Pick<NamePolicy, 'reserve'>;
  sentFiles: SentFilesPolicy;
  /** Absent until group deletion is wired: an identity that owns groups is then refused. */
  ownedGroups: OwnedGroupDeleter;
  /** Called after the `identity-deleted` entry was left pending (the worker's sealer kicks). */
  onAuditEnqueued?: (shard: number) => void;
}

export interface DeletionRequest {
  identity: string;
  /** 'self' (the user's route) or the operator's name. */
  by: string;
  reason?: string;
  /** Delete the groups the identity owns; otherwise IDENTITY_OWNS_GROUPS lists them. */
  withGroups?: boolean;
}

/** Counters kept in the progress record: each step adds what it did, so a rerun reports the sum. */
type Counter = 'devices' | 'groupsLeft' | 'groupsDeleted' | 'objectsDeleted' | 'bytes' | 'objectsHeld';

/**
 * Deleting an identity (docs/lifecycle.md#deleting-an-identity), for the user's DELETE /v1/identity
 * and the operator's `conduit-server admin delete-identity`. Each step is idempotent and the
 * progress lives in Redis (keys.identityDeletion), so a run interrupted anywhere is finished by
 * running it again; finishIdentityDeletion-2.lua writes the one `identity-deleted` entry exactly
 * once. The account record, devices and sessions go last: until then the user can still log in and
 * repeat the request.
 */
export class IdentityDeletion {
  private readonly scripts;

  constructor(private readonly deps: IdentityDeletionDeps) {
    this.scripts = defineScripts(deps.redis, 'finishIdentityDeletion');
  }

  async delete(request: DeletionRequest, now = new Date()): Promise<IdentityDeletionReport> {
    const { deps } = this;
    const { identity } = request;
    const record = deps.keys.identityDeletion(identity);
    const existing = await deps.redis.hgetall(record);
    const known = (await deps.redis.exists(deps.keys.knownIdentity(identity))) === 1;
    if (existing.state === 'done' && !known) return reportOf(identity, existing, false);
    if (existing.state !== 'running' && !known) throw new ConduitError('IDENTITY_NOT_FOUND');

    const owned = await this.ownedGroups(identity);
    // A hold placed since an interrupted run stops it too.
    await deps.holds.assertNone(
      { identities: [identity], groups: owned },
      { action: 'identity-delete', by: request.by },
      now,
    );
    const withGroups = request.withGroups === true || existing.withGroups === '1';
    if (owned.length > 0 && !withGroups) {
      throw new ConduitError(
        'IDENTITY_OWNS_GROUPS',
        `${identity} owns ${owned.length} group(s): delete them first, or repeat with --with-groups.`,
        { groups: owned },
      );
    }
    if (existing.state !== 'running') {
      // A fresh run (the first, or one for an account registered again under a freed name).
      await deps.redis
        .multi()
        .del(record)
        .hset(record, {
          state: 'running',
          by: request.by,
          ...(request.reason ? { reason: request.reason } : {}),
          withGroups: withGroups ? '1' : '0',
          sentFiles: deps.sentFiles,
          startedAt: now.toISOString(),
        })
        .exec();
    }
    const actor = request.by === 'self' ? identity : request.by;
    await this.leaveGroups(identity, record, actor);
    for (const groupId of owned) {
      await deps.ownedGroups!.deleteOwnedGroup(groupId, actor, request.reason);
      await deps.redis.hincrby(record, 'groupsDeleted', 1);
    }
    if ((await deps.redis.hget(record, 'sentFiles')) === 'delete') {
      const erased = await eraseSentObjects(deps, identity, {
        kind: 'request',
        action: 'identity-delete',
        by: actor,
        ...(request.reason ? { reason: request.reason } : {}),
      });
      await this.add(record, { objectsDeleted: erased.deleted, bytes: erased.bytes, objectsHeld: erased.held });
    }
    // Cards are kept with the time just before their revocation: members verify kept files with them.
    const directory = await deps.directory.eraseIdentity(identity, (cards) =>
      deps.retired.keep(identity, cards, new Date()),
    );
    // A rerun finds nothing left to revoke: keep the first run's counts.
    if (directory.cardsRevoked > 0) await deps.redis.hset(record, 'cardsRevoked', directory.cardsRevoked);
    if (directory.backupsReset > 0) await deps.redis.hset(record, 'backupsReset', directory.backupsReset);
    await this.endAccount(identity, record);
    return this.finish(identity, record, now);
  }

  /** The groups (any state) the identity owns, from its group index. */
  private async ownedGroups(identity: string): Promise<string[]> {
    const ids = await this.deps.groups.groupsOf(identity);
    const groups = await Promise.all(ids.map((g) => this.deps.groups.get(g)));
    return groups.filter((g) => g?.owner === identity).map((g) => g!.groupId);
  }

  /** Its memberships in others' groups end as an owner's removal does (acks dropped, Sync grant revoked). */
  private async leaveGroups(identity: string, record: string, by: string): Promise<void> {
    for (const groupId of await this.deps.groups.groupsOf(identity)) {
      const group = await this.deps.groups.get(groupId);
      if (group?.owner === identity) continue;
      if (!group) {
        await this.deps.redis.srem(this.deps.keys.identityGroups(identity), groupId);
        continue;
      }
      const { wasMember } = await removeMember(this.deps, { groupId, identity, by });
      if (wasMember) await this.deps.redis.hincrby(record, 'groupsLeft', 1);
    }
  }

  /**
   * Sessions, refresh tokens, devices, the account record, quota counters, the group index and
   * device names. Kept on purpose: device tombstones (members judge old envelopes by them) and the
   * session epoch (a name registered again must not revive old tokens). The name is reserved.
   */
  private async endAccount(identity: string, record: string): Promise<void> {
    const { redis, keys, devices } = this.deps;
    await this.deps.sessions.revokeAll(identity);
    const active = await devices.list(identity);
    for (const { deviceId } of active) {
      await redis.del(keys.refreshFamily(identity, deviceId));
      if (await devices.revoke(identity, deviceId)) await redis.hincrby(record, 'devices', 1);
    }
    await this.deps.names.reserve(identity);
    await redis.del(
      keys.account(identity),
      keys.knownIdentity(identity),
      keys.deviceNames(identity),
      keys.identityGroups(identity),
      keys.identityObjects(identity),
      keys.quotaUsage(identity),
      keys.quotaReservations(identity),
      keys.quotaMembers(identity, 'pointers'),
      keys.quotaMembers(identity, 'groups'),
      keys.quotaRefunded(identity),
    );
  }

  private async finish(identity: string, record: string, now: Date): Promise<IdentityDeletionReport> {
    const { redis, keys, audit } = this.deps;
    const state = await redis.hgetall(record);
    const shard = identityDeletionShard(identity);
    const item = pendingItem(newEntryId(), encodeEntry(identityDeleted(identity, state, now)));
    const code = await this.scripts.finishIdentityDeletion(
      [record, keys.auditPending(shard)],
      [item, now.toISOString()],
    );
    if (code === FinishIdentityDeletionReply.Finished) {
      this.deps.onAuditEnqueued?.(shard);
      await audit.seal([shard]);
    }
    return reportOf(identity, await redis.hgetall(record), code === FinishIdentityDeletionReply.Finished);
  }

  private async add(record: string, counts: Partial<Record<Counter, number>>): Promise<void> {
    const multi = this.deps.redis.multi();
    for (const [field, n] of Object.entries(counts)) if (n) multi.hincrby(record, field, n);
    await multi.exec();
  }
}

const num = (state: Record<string, string>, field: string): number => Number(state[field] ?? 0);

/** The one audit entry of a deletion: counts and the outcome per store, never content. */
function identityDeleted(identity: string, state: Record<string, string>, at: Date): AuditEntry {
  const sentFiles = state.sentFiles === 'delete' ? 'delete' : 'keep';
  return {
    type: 'identity-deleted',
    at: at.toISOString(),
    identity,
    by: state.by ?? 'self',
    ...(state.reason ? { reason: state.reason } : {}),
    devices: num(state, 'devices'),
    groupsLeft: num(state, 'groupsLeft'),
    groupsDeleted: num(state, 'groupsDeleted'),
    objectsDeleted: num(state, 'objectsDeleted'),
    bytes: num(state, 'bytes'),
    sentFiles,
    outcome: {
      redis: 'deleted',
      s3: sentFiles === 'keep' ? 'kept' : num(state, 'objectsHeld') > 0 ? 'deleted-except-held' : 'deleted',
      sync: 'revoked',
      directory: 'revoked',
    },
  };
}

function reportOf(identity: string, state: Record<string, string>, deleted: boolean): IdentityDeletionReport {
  return {
    identity,
    deleted,
    devices: num(state, 'devices'),
    groupsLeft: num(state, 'groupsLeft'),
    groupsDeleted: num(state, 'groupsDeleted'),
    objectsDeleted: num(state, 'objectsDeleted'),
    bytes: num(state, 'bytes'),
    sentFiles: state.sentFiles === 'delete' ? 'delete' : 'keep',
    cardsRevoked: num(state, 'cardsRevoked'),
    backupsReset: num(state, 'backupsReset'),
  };
}
