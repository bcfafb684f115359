import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

// KEYS: bucket hash. ARGV: rate per second, burst. Uses Redis's clock so every worker shares one
// time base. Returns 0 when a token was taken, else the ms until one will be available.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
`;

// KEYS: bucket hash. ARGV: rate per second, pause ms. Empties the bucket so no worker writes to
// the object for `pause` ms (Sync answered 429 with Retry-After).
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local debt = -tonumber(ARGV[2]) * tonumber(ARGV[1]) / 1000
local current = tonumber(redis.call('HGET', KEYS[1], 'tokens')) or 0
if debt < current then
  redis.call('HSET', KEYS[1], 'tokens', tostring(debt), 'ts', string.format('%d', now))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
return 1
`;

/**
 * A token bucket per Sync object, shared by every worker through Redis (atomic Lua), so purges
 * stay under Twilio's per-object write rate however many workers run.
 */
export class SyncWriteBudget {
  private readonly takeScript;
  private readonly pauseScript;
  private readonly burst: number;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly writesPerSecond: number,
    burst?: number,
  ) {
    if (!(writesPerSecond > 0)) throw new RangeError('writesPerSecond must be positive');
    this.burst = burst ?? Math.max(1, writesPerSecond);
    this.takeScript = defineScript<number>(redis, 'conduitBucketTake', 1, TAKE);
    this.pauseScript = defineScript<number>(redis, 'conduitBucketPause', 1, PAUSE);
  }

  /** 0 when the write may go ahead now, else how long to wait (ms) before asking again. */
  async take(objectName: string): Promise<number> {
    return this.takeScript([this.keys.syncBucket(objectName)], [this.writesPerSecond, this.burst]);
  }

  /** Holds every worker off the object for `ms`. */
  async pause(objectName: string, ms: number): Promise<void> {
    await this.pauseScript([this.keys.syncBucket(objectName)], [this.writesPerSecond, Math.max(0, Math.round(ms))]);
  }
}
