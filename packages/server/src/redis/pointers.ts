import type { Redis } from 'ioredis';
import type { Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

export type PointerStateName = 'pending' | 'purging' | 'purged';

export interface PointerRecord {
  pointerId: string;
  groupId: string;
  sender: Endpoint;
  state: PointerStateName;
  expected: Endpoint[];
  acknowledged: Endpoint[];
  createdAt: string;
  purgedAt?: string;
}

export type AckResult =
  { ok: true; remaining: number } | { ok: false; reason: 'POINTER_NOT_FOUND' | 'NOT_A_RECIPIENT' };

// KEYS: pointer hash, expected set. ARGV: groupId, sender identity, sender device, createdAt,
// retention seconds, then the expected endpoint keys.
const REGISTER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'groupId', ARGV[1], 'senderIdentity', ARGV[2], 'senderDevice', ARGV[3],
  'state', 'pending', 'createdAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
if #ARGV >= 6 then redis.call('EXPIRE', KEYS[2], ARGV[5]) end
return 1
`;

// KEYS: pointer hash, expected set, acked set, outbox list. ARGV: endpoint key, pointer id.
// Returns {-1} unknown pointer, {-2} not a recipient, else {remaining}. The transition to
// 'purging' and the outbox push happen together, exactly once, on the ack that leaves none.
const ACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {-2} end
redis.call('SADD', KEYS[3], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
local remaining = redis.call('SCARD', KEYS[2]) - redis.call('SCARD', KEYS[3])
if remaining == 0 and redis.call('HGET', KEYS[1], 'state') == 'pending' then
  redis.call('HSET', KEYS[1], 'state', 'purging')
  redis.call('LPUSH', KEYS[4], ARGV[2])
end
return {remaining}
`;

// KEYS: pointer hash. ARGV: purgedAt. Idempotent; a pointer that expired meanwhile is left alone.
const MARK_PURGED = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state ~= 'purged' then redis.call('HSET', KEYS[1], 'state', 'purged', 'purgedAt', ARGV[1]) end
return 1
`;

const byKey = (a: Endpoint, b: Endpoint) => (endpointKey(a) < endpointKey(b) ? -1 : 1);

/**
 * The acknowledgement ledger. Each pointer's records expire `retentionSeconds` after registration
 * (longer than the Sync item TTL), so the ledger stays bounded even if a recipient never acks.
 */
export class PointerLedger {
  private readonly registerScript;
  private readonly ackScript;
  private readonly markPurgedScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.registerScript = defineScript<number>(redis, 'conduitRegisterPointer', 2, REGISTER);
    this.ackScript = defineScript<[number]>(redis, 'conduitAck', 4, ACK);
    this.markPurgedScript = defineScript<number>(redis, 'conduitMarkPurged', 1, MARK_PURGED);
  }

  /** False when the pointer id is already taken. */
  async register(input: {
    pointerId: string;
    groupId: string;
    sender: Endpoint;
    expected: readonly Endpoint[];
    createdAt: Date;
    retentionSeconds: number;
  }): Promise<boolean> {
    const created = await this.registerScript(
      [this.keys.pointer(input.pointerId), this.keys.pointerExpected(input.pointerId)],
      [
        input.groupId,
        input.sender.identity,
        input.sender.deviceId,
        input.createdAt.toISOString(),
        input.retentionSeconds,
        ...input.expected.map(endpointKey),
      ],
    );
    return created === 1;
  }

  async acknowledge(pointerId: string, endpoint: Endpoint): Promise<AckResult> {
    const [code] = await this.ackScript(
      [
        this.keys.pointer(pointerId),
        this.keys.pointerExpected(pointerId),
        this.keys.pointerAcked(pointerId),
        this.keys.outbox(),
      ],
      [endpointKey(endpoint), pointerId],
    );
    if (code === -1) return { ok: false, reason: 'POINTER_NOT_FOUND' };
    if (code === -2) return { ok: false, reason: 'NOT_A_RECIPIENT' };
    return { ok: true, remaining: code };
  }

  /** Returns false when the pointer no longer exists (expired). */
  async markPurged(pointerId: string, at: Date): Promise<boolean> {
    return (await this.markPurgedScript([this.keys.pointer(pointerId)], [at.toISOString()])) === 1;
  }

  async groupOf(pointerId: string): Promise<string | null> {
    return this.redis.hget(this.keys.pointer(pointerId), 'groupId');
  }

  async get(pointerId: string): Promise<PointerRecord | null> {
    const results = (await this.redis
      .multi()
      .hgetall(this.keys.pointer(pointerId))
      .smembers(this.keys.pointerExpected(pointerId))
      .smembers(this.keys.pointerAcked(pointerId))
      .exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const [hash, expected, acked] = results.map(([, value]) => value) as [Record<string, string>, string[], string[]];
    const { groupId, senderIdentity, senderDevice, state, createdAt, purgedAt } = hash;
    if (!groupId || !senderIdentity || !senderDevice || !createdAt) return null;
    if (state !== 'pending' && state !== 'purging' && state !== 'purged') return null;
    return {
      pointerId,
      groupId,
      sender: { identity: senderIdentity, deviceId: senderDevice },
      state,
      expected: expected.map(parseEndpointKey).sort(byKey),
      acknowledged: acked.map(parseEndpointKey).sort(byKey),
      createdAt,
      ...(purgedAt ? { purgedAt } : {}),
    };
  }
}
