import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import {
  RegisterDeviceReply,
  RevokeDeviceReply,
  SetDeviceNameReply,
  type DeviceStatusReply,
} from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/** Bounds the expected-endpoint snapshot of every pointer (members x devices). */
export const MAX_DEVICES_PER_IDENTITY = 32;

export type RegisterDeviceResult =
  { ok: true; createdAt: string } | { ok: false; reason: 'LIMIT' } | { ok: false; reason: 'REVOKED' };

/** `unknown`: never registered (or not yet); `revoked`: removed, and refused for good. */
export type DeviceStatus = DeviceStatusReply;

/** Devices per identity: hash deviceId -> createdAt (ISO), and a set of revoked ids. */
export class DeviceRepository {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'registerDevice', 'revokeDevice', 'deviceStatus', 'setDeviceName');
  }

  /**
   * Idempotent: re-registering returns the original createdAt. A revoked id is refused; the
   * tombstone is checked in the same script, so a racing revocation cannot leave it registered.
   */
  async register(identity: string, deviceId: string, now: Date): Promise<RegisterDeviceResult> {
    const [code, createdAt] = await this.scripts.registerDevice(
      [this.keys.devices(identity), this.keys.revokedDevices(identity), this.keys.knownIdentity(identity)],
      [deviceId, now.toISOString(), MAX_DEVICES_PER_IDENTITY],
    );
    if (code === RegisterDeviceReply.Registered) return { ok: true, createdAt };
    return { ok: false, reason: code === RegisterDeviceReply.Revoked ? 'REVOKED' : 'LIMIT' };
  }

  /**
   * Removes the device and records it as revoked, atomically; the id can never be registered
   * again. Idempotent. False when the device was not registered.
   */
  async revoke(identity: string, deviceId: string, now = new Date()): Promise<boolean> {
    const removed = await this.scripts.revokeDevice(
      [
        this.keys.devices(identity),
        this.keys.revokedDevices(identity),
        this.keys.revokedDeviceTimes(identity),
        this.keys.deviceNames(identity),
      ],
      [deviceId, now.toISOString()],
    );
    return removed === RevokeDeviceReply.Removed;
  }

  async status(identity: string, deviceId: string): Promise<DeviceStatus> {
    return this.scripts.deviceStatus([this.keys.devices(identity), this.keys.revokedDevices(identity)], [deviceId]);
  }

  async isRevoked(identity: string, deviceId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.revokedDevices(identity), deviceId)) === 1;
  }

  /** Replaces an active device's sealed name; false when the identity has no such active device. */
  async setName(identity: string, deviceId: string, sealedName: string): Promise<boolean> {
    const keys = [this.keys.devices(identity), this.keys.deviceNames(identity)];
    return (await this.scripts.setDeviceName(keys, [deviceId, sealedName])) === SetDeviceNameReply.Named;
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
    // Each identity's devices are in its own slot: one HKEYS each, which ioredis pipelines per node.
    const devices = await Promise.all(identities.map((identity) => this.redis.hkeys(this.keys.devices(identity))));
    return new Map(identities.map((identity, i) => [identity, devices[i]!.sort()]));
  }
}
