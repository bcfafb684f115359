import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import type { SessionGateReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/** `expired`: the session predates a password change or lock; `locked`: the operator locked the identity. */
export type SessionStatus = SessionGateReply;

/**
 * Per-identity session epoch and operator lock. Sessions carry the epoch they were issued in;
 * bumping it (password change, migration, lock) ends every session of the identity at once.
 */
export class SessionState {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'sessionGate');
  }

  /**
   * Read on every authenticated request and every token issuance: the lock, the session epoch and
   * the device are all checked in one round trip (sessionGate-3.lua).
   */
  async check(identity: string, deviceId: string, tokenEpoch: number | undefined): Promise<SessionStatus> {
    return this.scripts.sessionGate(
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
