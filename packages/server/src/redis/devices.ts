import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

/** Bounds the expected-endpoint snapshot of every pointer (members x devices). */
export const MAX_DEVICES_PER_IDENTITY = 32;

const REGISTER = `
local created = redis.call('HGET', KEYS[1], ARGV[1])
if created then return {1, created} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {0, ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return {1, ARGV[2]}
`;

export type RegisterDeviceResult = { ok: true; createdAt: string } | { ok: false; reason: 'LIMIT' };

/** Devices per identity: hash deviceId -> createdAt (ISO). */
export class DeviceRepository {
  private readonly registerScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.registerScript = defineScript<[number, string]>(redis, 'conduitRegisterDevice', 2, REGISTER);
  }

  /** Idempotent: re-registering returns the original createdAt. */
  async register(identity: string, deviceId: string, now: Date): Promise<RegisterDeviceResult> {
    const [ok, createdAt] = await this.registerScript(
      [this.keys.devices(identity), this.keys.identities()],
      [deviceId, now.toISOString(), MAX_DEVICES_PER_IDENTITY, identity],
    );
    return ok === 1 ? { ok: true, createdAt } : { ok: false, reason: 'LIMIT' };
  }

  /** False when the device was not registered. */
  async remove(identity: string, deviceId: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.devices(identity), deviceId)) === 1;
  }

  async has(identity: string, deviceId: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.devices(identity), deviceId)) === 1;
  }

  /** The identity's devices, oldest first. */
  async list(identity: string): Promise<{ deviceId: string; createdAt: string }[]> {
    const all = await this.redis.hgetall(this.keys.devices(identity));
    return Object.entries(all)
      .map(([deviceId, createdAt]) => ({ deviceId, createdAt }))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.deviceId.localeCompare(b.deviceId));
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
