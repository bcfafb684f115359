import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

// KEYS: devices hash, revoked set, session state hash. ARGV: deviceId, token epoch ('' = none,
// identity-provider tokens). Read on every authenticated request and every token issuance: the
// lock, the session epoch and the device are all checked in this one round trip.
const GATE = `
local state = redis.call('HMGET', KEYS[3], 'locked', 'epoch')
if state[1] == '1' then return 'locked' end
if ARGV[2] ~= '' and tonumber(ARGV[2]) < (tonumber(state[2]) or 0) then return 'expired' end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'revoked' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'active' end
return 'unknown'
`;

/** `expired`: the session predates a password change or lock; `locked`: the operator locked the identity. */
export type SessionStatus = 'active' | 'revoked' | 'unknown' | 'expired' | 'locked';

/**
 * Per-identity session epoch and operator lock. Sessions carry the epoch they were issued in;
 * bumping it (password change, migration, lock) ends every session of the identity at once.
 */
export class SessionState {
  private readonly gateScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.gateScript = defineScript<SessionStatus>(redis, 'conduitSessionGate', 3, GATE);
  }

  async check(identity: string, deviceId: string, tokenEpoch: number | undefined): Promise<SessionStatus> {
    return this.gateScript(
      [this.keys.devices(identity), this.keys.revokedDevices(identity), this.keys.sessionState(identity)],
      [deviceId, tokenEpoch === undefined ? '' : tokenEpoch],
    );
  }

  /** The epoch new sessions are issued in, and whether the identity is locked. */
  async current(identity: string): Promise<{ epoch: number; locked: boolean }> {
    const [locked, epoch] = await this.redis.hmget(this.keys.sessionState(identity), 'locked', 'epoch');
    return { epoch: Number(epoch ?? 0), locked: locked === '1' };
  }

  /** Ends every session issued so far. */
  async revokeAll(identity: string): Promise<void> {
    await this.redis.hincrby(this.keys.sessionState(identity), 'epoch', 1);
  }

  /** Refuses the identity everywhere until unlock; its current sessions stay ended after unlock. */
  async lock(identity: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.sessionState(identity), 'locked', '1')
      .hincrby(this.keys.sessionState(identity), 'epoch', 1)
      .exec();
  }

  async unlock(identity: string): Promise<void> {
    await this.redis.hdel(this.keys.sessionState(identity), 'locked');
  }
}
