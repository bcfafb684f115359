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

export class GroupRepository {
  private readonly createScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.createScript = defineScript<number>(redis, 'conduitCreateGroup', 2, CREATE);
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
    await this.redis.hset(this.keys.group(groupId), 'state', 'ready');
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
