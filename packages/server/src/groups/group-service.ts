import { ConduitError, MAX_GROUP_MEMBERS } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { removeMember } from '../delivery/departures.js';
import type { DeliveryObserver } from '../delivery/events.js';
import { restoreReader } from '../delivery/sync/heal.js';
import { provisionGroupMap } from '../delivery/sync/provision.js';
import type { IdentityDirectory } from '../adapters/redis/accounts.js';
import type { DeviceRepository } from '../adapters/redis/devices.js';
import { participantsOf, type GroupRecord, type GroupRepository } from '../adapters/redis/groups.js';
import type { PointerLedger } from '../adapters/redis/pointers.js';
import type { Quotas } from '../limits/quotas.js';
import type { RetiredCards } from '../adapters/redis/retired-cards.js';

export interface GroupServiceDeps {
  identities: IdentityDirectory;
  groups: GroupRepository;
  devices: DeviceRepository;
  ledger: PointerLedger;
  syncAdmin: SyncAdmin;
  audit: AuditLog;
  observer: Required<DeliveryObserver>;
  logger: Logger;
  quotas: Pick<Quotas, 'claim' | 'release'>;
  /** Deleted identities: their device history stays answerable to members (kept files). */
  retired: Pick<RetiredCards, 'has'>;
}

const sameMembers = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((m, i) => m === b[i]);

/**
 * Groups and their membership: creation with its Sync map, members added (with their grants) and
 * removed (with their pending acknowledgements), sealed names, and a member's request to restore
 * its map. Callers have checked access (http/access.ts); the rules that remain are here.
 */
export class GroupService {
  constructor(private readonly deps: GroupServiceDeps) {}

  /** A new group owned by `owner` (or the same owner finishing an interrupted creation). */
  async create(groupId: string, owner: string, requested: readonly string[]): Promise<GroupRecord> {
    const members = [...new Set(requested)].filter((m) => m !== owner).sort();
    await this.requireRegistered(members);
    // Claimed before the group exists (an interrupted creation holds its claim already).
    const fresh = await this.deps.quotas.claim('groups', owner, groupId);
    if (!(await this.deps.groups.create(groupId, owner, members, new Date()))) {
      // Only the same owner repeating the same request may finish an interrupted provisioning;
      // anything else would grant Sync access to a group the caller does not own.
      const existing = await this.deps.groups.get(groupId);
      const resumable =
        existing?.state === 'provisioning' && existing.owner === owner && sameMembers(existing.members, members);
      if (!resumable) {
        if (fresh) await this.deps.quotas.release('groups', owner, groupId);
        throw new ConduitError('GROUP_EXISTS');
      }
    }
    await provisionGroupMap(this.deps.syncAdmin, groupId, owner, members);
    await this.deps.groups.markReady(groupId);
    const group = await this.deps.groups.getReady(groupId);
    if (!group) throw new Error('Group vanished after provisioning.');
    return group;
  }

  /** The ready groups the identity takes part in. */
  async listFor(identity: string): Promise<GroupRecord[]> {
    const ids = await this.deps.groups.groupsOf(identity);
    const groups = await Promise.all(ids.map((g) => this.deps.groups.getReady(g)));
    // The index may name groups the identity left or was refused (groupsOf): membership decides.
    return groups.filter((g): g is GroupRecord => g !== null && participantsOf(g).includes(identity));
  }

  /** The owner adds members (E3Kit lets only the group's creator change it). */
  async addMembers(group: GroupRecord, by: string, requested: readonly string[]): Promise<GroupRecord> {
    const { groupId } = group;
    const members = [...new Set(requested)].filter((m) => m !== group.owner).sort();
    await this.requireRegistered(members);
    const result = await this.deps.groups.addMembers(groupId, members, MAX_GROUP_MEMBERS);
    if (!result.ok && result.reason === 'NOT_READY') throw new ConduitError('GROUP_NOT_FOUND');
    if (!result.ok) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `E3Kit groups hold at most ${MAX_GROUP_MEMBERS} participants, the owner included: ` +
          'share with a new group for the extra members instead.',
      );
    }
    // Every requested member, not only the new ones: repeating the request after a Sync failure
    // finishes granting access (provisioning is idempotent).
    await provisionGroupMap(this.deps.syncAdmin, groupId, group.owner, members);
    if (result.added.length > 0) {
      await this.deps.audit.append({
        type: 'member-added',
        at: new Date().toISOString(),
        groupId,
        identities: result.added,
        by,
      });
    }
    const updated = await this.deps.groups.getReady(groupId);
    if (!updated) throw new Error('Group vanished after adding members.');
    return updated;
  }

  /** The owner renames the group; the name is sealed, the server only stores it. */
  async rename(groupId: string, by: string, sealedName: string): Promise<void> {
    if (!(await this.deps.groups.setName(groupId, sealedName))) throw new ConduitError('GROUP_NOT_FOUND');
    // The audit log records that a rename happened, never the (sealed) name.
    await this.deps.audit.append({ type: 'group-renamed', at: new Date().toISOString(), groupId, by });
  }

  /** The owner removes a member, or a member leaves; `group` is one the caller takes part in. */
  async removeMember(group: GroupRecord, by: string, identity: string): Promise<void> {
    if (identity === group.owner) throw new ConduitError('OWNER_CANNOT_LEAVE');
    // Only the owner removes others, and repeats a removal that failed half-way (a member that
    // left is an outsider from the moment its membership is gone).
    if (by !== group.owner && by !== identity) throw new ConduitError('FORBIDDEN');
    await removeMember(this.deps, { groupId: group.groupId, identity, by });
  }

  /** A member's receive could not open the group's map: restore the map or the member's grant. */
  async restoreReader(groupId: string, identity: string): Promise<void> {
    await restoreReader(this.deps, groupId, identity);
  }

  /** A participant's devices with their creation and revocation times; `group` is the caller's. */
  async memberDevices(group: GroupRecord, identity: string): ReturnType<DeviceRepository['history']> {
    // A deleted identity is no participant any more, but the files it sent stay (sentFiles=keep):
    // receivers still judge their envelopes' devices by its tombstones (docs/lifecycle.md).
    if (!participantsOf(group).includes(identity) && !(await this.deps.retired.has(identity))) {
      throw new ConduitError('NOT_FOUND', 'No such member.');
    }
    return this.deps.devices.history(identity);
  }

  private async requireRegistered(members: readonly string[]): Promise<void> {
    const unknown = await this.deps.identities.unknown(members);
    if (unknown.length > 0) {
      throw new ConduitError('IDENTITY_NOT_FOUND', 'Some members are not registered.', { identities: unknown });
    }
  }
}
