import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

/** Bounds the expected-endpoint snapshot of every pointer (members x devices). */
export const MAX_DEVICES_PER_IDENTITY = 32;

// KEYS: devices hash, revoked set, identities set. The tombstone is checked in the same script,
// so a revocation racing an enrollment can never leave the revoked id registered.
const REGISTER = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {-1, ''} end
local created = redis.call('HGET', KEYS[1], ARGV[1])
if created then return {1, created} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {0, ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
return {1, ARGV[2]}
`;

// KEYS: devices hash, revoked set, revocation times, names. ARGV: device id, now (ISO). Removal
// and tombstone land together; the first revocation's time is kept (members judge envelopes by
// it); the device's sealed name goes with it.
const REVOKE = `
local created = redis.call('HGET', KEYS[1], ARGV[1])
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
if created then redis.call('HSETNX', KEYS[3], ARGV[1], created .. ' ' .. ARGV[2]) end
return removed
`;

// KEYS: devices hash, revoked set. Read on every authenticated request: one round trip.
const STATUS = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'revoked' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'active' end
return 'unknown'
`;

// KEYS: devices hash, names hash. ARGV: device id, sealed name. Only an active device is named.
const SET_NAME = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

export type RegisterDeviceResult =
  { ok: true; createdAt: string } | { ok: false; reason: 'LIMIT' } | { ok: false; reason: 'REVOKED' };

/** `unknown`: never registered (or not yet); `revoked`: removed, and refused for good. */
export type DeviceStatus = 'active' | 'revoked' | 'unknown';

/** Devices per identity: hash deviceId -> createdAt (ISO), and a set of revoked ids. */
export class DeviceRepository {
  private readonly registerScript;
  private readonly revokeScript;
  private readonly statusScript;
  private readonly setNameScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.registerScript = defineScript<[number, string]>(redis, 'conduitRegisterDevice', 3, REGISTER);
    this.revokeScript = defineScript<number>(redis, 'conduitRevokeDevice', 4, REVOKE);
    this.statusScript = defineScript<DeviceStatus>(redis, 'conduitDeviceStatus', 2, STATUS);
    this.setNameScript = defineScript<number>(redis, 'conduitSetDeviceName', 2, SET_NAME);
  }

  /** Idempotent: re-registering returns the original createdAt. A revoked id is refused. */
  async register(identity: string, deviceId: string, now: Date): Promise<RegisterDeviceResult> {
    const [ok, createdAt] = await this.registerScript(
      [this.keys.devices(identity), this.keys.revokedDevices(identity), this.keys.identities()],
      [deviceId, now.toISOString(), MAX_DEVICES_PER_IDENTITY, identity],
    );
    if (ok === 1) return { ok: true, createdAt };
    return { ok: false, reason: ok === -1 ? 'REVOKED' : 'LIMIT' };
  }

  /**
   * Removes the device and records it as revoked, atomically; the id can never be registered
   * again. Idempotent. False when the device was not registered.
   */
  async revoke(identity: string, deviceId: string, now = new Date()): Promise<boolean> {
    const removed = await this.revokeScript(
      [
        this.keys.devices(identity),
        this.keys.revokedDevices(identity),
        this.keys.revokedDeviceTimes(identity),
        this.keys.deviceNames(identity),
      ],
      [deviceId, now.toISOString()],
    );
    return removed === 1;
  }

  async status(identity: string, deviceId: string): Promise<DeviceStatus> {
    return this.statusScript([this.keys.devices(identity), this.keys.revokedDevices(identity)], [deviceId]);
  }

  async isRevoked(identity: string, deviceId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.revokedDevices(identity), deviceId)) === 1;
  }

  /** Replaces an active device's sealed name; false when the identity has no such active device. */
  async setName(identity: string, deviceId: string, sealedName: string): Promise<boolean> {
    const keys = [this.keys.devices(identity), this.keys.deviceNames(identity)];
    return (await this.setNameScript(keys, [deviceId, sealedName])) === 1;
  }

  /** The identity's active devices with their sealed names, oldest first. */
  async listNamed(identity: string): Promise<{ deviceId: string; createdAt: string; sealedName?: string }[]> {
    const [devices, names] = await Promise.all([
      this.list(identity),
      this.redis.hgetall(this.keys.deviceNames(identity)),
    ]);
    return devices.map((d) => {
      const sealedName = names[d.deviceId];
      return sealedName ? { ...d, sealedName } : d;
    });
  }

  /** The identity's devices, oldest first. */
  async list(identity: string): Promise<{ deviceId: string; createdAt: string }[]> {
    const all = await this.redis.hgetall(this.keys.devices(identity));
    return Object.entries(all)
      .map(([deviceId, createdAt]) => ({ deviceId, createdAt }))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.deviceId.localeCompare(b.deviceId));
  }

  /**
   * Every device the identity ever registered (as far as recorded): active ones, and revoked ones
   * with their revocation time, oldest first. What a receiver checks an envelope's device against.
   */
  async history(identity: string): Promise<{ deviceId: string; createdAt: string; revokedAt?: string }[]> {
    const [active, revoked] = await Promise.all([
      this.list(identity),
      this.redis.hgetall(this.keys.revokedDeviceTimes(identity)),
    ]);
    const gone = Object.entries(revoked).flatMap(([deviceId, times]) => {
      const [createdAt, revokedAt] = times.split(' ');
      return createdAt && revokedAt ? [{ deviceId, createdAt, revokedAt }] : [];
    });
    return [...active, ...gone].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.deviceId.localeCompare(b.deviceId),
    );
  }

  /** Device ids of each identity, in the order given. */
  async ofMany(identities: readonly string[]): Promise<Map<string, string[]>> {
    const pipeline = this.redis.pipeline();
    for (const identity of identities) pipeline.hkeys(this.keys.devices(identity));
    const results = (await pipeline.exec()) ?? [];
    const out = new Map<string, string[]>();
    identities.forEach((identity, i) => {
      const [err, devices] = results[i] ?? [new Error('missing pipeline result'), null];
      if (err) throw err;
      out.set(identity, (devices as string[]).sort());
    });
    return out;
  }
}
