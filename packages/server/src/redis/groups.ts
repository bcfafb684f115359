import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

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
}

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'createdAt', ARGV[2], 'state', 'provisioning')
for i = 3, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
`;

// KEYS: members set, group epoch, the identity's group index. ARGV: identity, group id.
// Bumping the epoch makes any pointer registration that read the old membership retry.
const REMOVE_MEMBER = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1
`;

export class GroupRepository {
  private readonly createScript;
  private readonly removeMemberScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.createScript = defineScript<number>(redis, 'conduitCreateGroup', 2, CREATE);
    this.removeMemberScript = defineScript<number>(redis, 'conduitRemoveMember', 3, REMOVE_MEMBER);
  }

  /** Reserves the group id; false when it already exists. The owner is stored as a participant too. */
  async create(groupId: string, owner: string, members: readonly string[], now: Date): Promise<boolean> {
    const participants = [owner, ...members.filter((m) => m !== owner)];
    const created = await this.createScript(
      [this.keys.group(groupId), this.keys.groupMembers(groupId)],
      [owner, now.toISOString(), ...participants],
    );
    return created === 1;
  }

  async markReady(groupId: string): Promise<void> {
    // Index participants first: a ready group is always found from each member's identity.
    const participants = await this.redis.smembers(this.keys.groupMembers(groupId));
    const pipeline = this.redis.pipeline();
    for (const p of participants) pipeline.sadd(this.keys.identityGroups(p), groupId);
    await pipeline.exec();
    await this.redis.hset(this.keys.group(groupId), 'state', 'ready');
  }

  /** Removes a (non-owner) member; false when it was not a member. */
  async removeMember(groupId: string, identity: string): Promise<boolean> {
    const removed = await this.removeMemberScript(
      [this.keys.groupMembers(groupId), this.keys.groupEpoch(groupId), this.keys.identityGroups(identity)],
      [identity, groupId],
    );
    return removed === 1;
  }

  /** Makes in-flight pointer registrations of these groups recompute their expected endpoints. */
  async bumpEpochs(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const g of groupIds) pipeline.incr(this.keys.groupEpoch(g));
    await pipeline.exec();
  }

  /** Groups the identity participates in. */
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
    const { owner, createdAt, state } = hash;
    if (!owner || !createdAt || (state !== 'provisioning' && state !== 'ready')) return null;
    return { groupId, owner, createdAt, state, members: participants.filter((p) => p !== owner).sort() };
  }

  /** The ready group, or null when absent or still provisioning. */
  async getReady(groupId: string): Promise<GroupRecord | null> {
    const group = await this.get(groupId);
    return group?.state === 'ready' ? group : null;
  }
}

/** Owner and members together: everyone with access to the group. */
export const participantsOf = (group: GroupRecord): string[] => [group.owner, ...group.members];
