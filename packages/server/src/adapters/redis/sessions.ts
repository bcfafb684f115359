import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import type { SessionGateReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/** The session state hash's field holding a device's session epoch (sessionGate-3.lua reads it too). */
const deviceField = (deviceId: string) => `dev:${deviceId}`;

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
  async check(
    identity: string,
    deviceId: string,
    tokenEpochs: { sessionEpoch?: number; deviceSessionEpoch?: number },
  ): Promise<SessionStatus> {
    const arg = (epoch: number | undefined) => (epoch === undefined ? '' : epoch);
    return this.scripts.sessionGate(
      [this.keys.devices(identity), this.keys.revokedDevices(identity), this.keys.sessionState(identity)],
      [deviceId, arg(tokenEpochs.sessionEpoch), arg(tokenEpochs.deviceSessionEpoch)],
    );
  }

  /** The epochs a session of `deviceId` is issued in now, and whether the identity is locked. */
  async current(identity: string, deviceId: string): Promise<{ epoch: number; deviceEpoch: number; locked: boolean }> {
    const [locked, epoch, deviceEpoch] = await this.redis.hmget(
      this.keys.sessionState(identity),
      'locked',
      'epoch',
      deviceField(deviceId),
    );
    return { epoch: Number(epoch ?? 0), deviceEpoch: Number(deviceEpoch ?? 0), locked: locked === '1' };
  }

  async isLocked(identity: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.sessionState(identity), 'locked')) === '1';
  }

  /** Ends every session issued so far. */
  async revokeAll(identity: string): Promise<void> {
    await this.redis.hincrby(this.keys.sessionState(identity), 'epoch', 1);
  }

  /** Ends every session issued so far to one device (a logout): the identity's other devices keep theirs. */
  async endDevice(identity: string, deviceId: string): Promise<void> {
    await this.redis.hincrby(this.keys.sessionState(identity), deviceField(deviceId), 1);
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
