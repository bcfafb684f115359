import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { AddMembersReply, CreateGroupReply, RemoveMemberReply, SetGroupNameReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/**
 * A group is reserved atomically in state 'provisioning' and becomes 'ready' once its Sync map
 * and permissions exist. Only ready groups are visible to the other routes, so a crash between
 * the two steps never exposes a group whose Sync permissions are missing.
 */
export interface GroupRecord {
  groupId: string;
  owner: string;
  /** Members other than the owner, sorted. */
  members: string[];
  createdAt: string;
  state: 'provisioning' | 'ready';
  /** The owner's latest name for the group, sealed with the group key (the server cannot read it). */
  sealedName?: string;
}

export type AddMembersResult = { ok: true; added: string[] } | { ok: false; reason: 'LIMIT' | 'NOT_READY' };

export class GroupRepository {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'createGroup', 'removeMember', 'addMembers', 'setGroupName');
  }

  /** Reserves the group id; false when it already exists. The owner is stored as a participant too. */
  async create(groupId: string, owner: string, members: readonly string[], now: Date): Promise<boolean> {
    const participants = [owner, ...members.filter((m) => m !== owner)];
    const created = await this.scripts.createGroup(
      [this.keys.group(groupId), this.keys.groupMembers(groupId)],
      [owner, now.toISOString(), ...participants],
    );
    return created === CreateGroupReply.Created;
  }

  async markReady(groupId: string): Promise<void> {
    // Index participants first: a ready group is always found from each member's identity.
    const participants = await this.redis.smembers(this.keys.groupMembers(groupId));
    await this.index(participants, groupId);
    await this.redis.hset(this.keys.group(groupId), 'state', 'ready');
    await this.redis.sadd(this.keys.readyGroups(), groupId);
  }

  /** Walks the ready groups (SSCAN: bounded batches; groups made ready before the index are missed). */
  async *readyGroups(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, ids] = await this.redis.sscan(this.keys.readyGroups(), cursor, 'COUNT', 500);
      cursor = next;
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /**
   * Removes a (non-owner) member; false when it was not a member. Bumps the group epoch in the same
   * step, so any pointer registration that read the old membership retries.
   */
  async removeMember(groupId: string, identity: string): Promise<boolean> {
    const removed = await this.scripts.removeMember(
      [this.keys.groupMembers(groupId), this.keys.groupEpoch(groupId)],
      [identity],
    );
    if (removed !== RemoveMemberReply.Removed) return false;
    await this.redis.srem(this.keys.identityGroups(identity), groupId);
    return true;
  }

  /**
   * Adds members to a ready group (and to their group index) unless the participants, owner
   * included, would exceed `limit` (checked in the same step as the adds, so concurrent adds
   * cannot pass it together). Already-members are skipped; `added` lists the new ones.
   */
  async addMembers(groupId: string, identities: readonly string[], limit: number): Promise<AddMembersResult> {
    // Indexed before (a member is always found from its identity) and after (a removal of the same
    // identity racing this add may have taken the first entry out); a refused add leaves entries
    // that readers of the index check against membership.
    await this.index(identities, groupId);
    const [code, ...added] = await this.scripts.addMembers(
      [this.keys.group(groupId), this.keys.groupMembers(groupId)],
      [limit, ...identities],
    );
    if (code === AddMembersReply.Limit) return { ok: false, reason: 'LIMIT' };
    if (code === AddMembersReply.NotReady) return { ok: false, reason: 'NOT_READY' };
    await this.index(added.map(String), groupId);
    return { ok: true, added: added.map(String) };
  }

  /** Adds the group to each identity's index (each in the identity's own slot). */
  private async index(identities: readonly string[], groupId: string): Promise<void> {
    await Promise.all(identities.map((identity) => this.redis.sadd(this.keys.identityGroups(identity), groupId)));
  }

  /** Replaces the sealed name (the latest wins); false when the group is not ready. */
  async setName(groupId: string, sealedName: string): Promise<boolean> {
    return (await this.scripts.setGroupName([this.keys.group(groupId)], [sealedName])) === SetGroupNameReply.Named;
  }

  /** Makes in-flight pointer registrations of these groups recompute their expected endpoints. */
  async bumpEpochs(groupIds: readonly string[]): Promise<void> {
    await Promise.all(groupIds.map((g) => this.redis.incr(this.keys.groupEpoch(g))));
  }

  /**
   * Groups in the identity's index: every group it participates in, and possibly some it left or
   * was refused (the index is written around membership changes, in another slot): callers that
   * need membership check it (GroupService.listFor does; a device removal may visit a few extra).
   */
  async groupsOf(identity: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.identityGroups(identity))).sort();
  }

  /** Any state; callers decide whether a provisioning group counts. */
  async get(groupId: string): Promise<GroupRecord | null> {
    const [[e1, hash], [e2, participants]] = (await this.redis
      .multi()
      .hgetall(this.keys.group(groupId))
      .smembers(this.keys.groupMembers(groupId))
      .exec()) as [[Error | null, Record<string, string>], [Error | null, string[]]];
    if (e1 ?? e2) throw e1 ?? e2;
    const { owner, createdAt, state, sealedName } = hash;
    if (!owner || !createdAt || (state !== 'provisioning' && state !== 'ready')) return null;
    const members = participants.filter((p) => p !== owner).sort();
    return { groupId, owner, createdAt, state, members, ...(sealedName ? { sealedName } : {}) };
  }

  /** The ready group, or null when absent or still provisioning. */
  async getReady(groupId: string): Promise<GroupRecord | null> {
    const group = await this.get(groupId);
    return group?.state === 'ready' ? group : null;
  }
}

/** Owner and members together: everyone with access to the group. */
export const participantsOf = (group: GroupRecord): string[] => [group.owner, ...group.members];
