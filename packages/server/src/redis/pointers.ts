import type { Redis } from 'ioredis';
import type { Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';
import { newEntryId, pendingItem } from '../audit/pending.js';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

/**
 * pending -> purging -> purged | expired, with purging -> failed when the purge gives up (a later
 * successful purge still moves 'failed' on). 'expired' is a purge the sweeper forced because the
 * pointer outlived its maximum age.
 */
export type PointerStateName = 'pending' | 'purging' | 'purged' | 'expired' | 'failed';

/** Why a pointer left 'pending'. */
export type PurgeReason = 'acknowledged' | 'expired' | 'member-removed' | 'device-removed' | 'no-recipients';

export interface PointerRecord {
  pointerId: string;
  groupId: string;
  sender: Endpoint;
  state: PointerStateName;
  reason?: PurgeReason;
  /** Every endpoint that had to acknowledge at registration (dropped ones included). */
  expected: Endpoint[];
  acknowledged: Endpoint[];
  /** Endpoints whose pending acknowledgement was dropped (member or device removed). */
  dropped: Endpoint[];
  createdAt: string;
  purgedAt?: string;
  failedAt?: string;
}

export type AckResult =
  { ok: true; remaining: number; firstAck: boolean } | { ok: false; reason: 'POINTER_NOT_FOUND' | 'NOT_A_RECIPIENT' };

export type MarkPurgedResult =
  { ok: true; latencyMs: number } | { ok: false; reason: 'missing' | 'already' | 'not-purging' };

// Every pointer script below takes these keys in this order:
// 1 pointer hash, 2 expected set, 3 acked set, 4 dropped set, 5 pending index, 6 group pending
// index, 7 purging index, 8 outbox list.
const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// The one way out of 'pending': indexes move and the outbox gets the id, in the same step, so a
// purge can only be lost together with the whole ledger entry.
const TO_PURGING = `${NOW_MS}
local function to_purging(pointerId, reason)
  local now = now_ms()
  redis.call('HSET', KEYS[1], 'state', 'purging', 'reason', reason, 'purgingAt', string.format('%d', now))
  redis.call('ZREM', KEYS[5], pointerId)
  redis.call('ZREM', KEYS[6], pointerId)
  redis.call('ZADD', KEYS[7], now, pointerId)
  redis.call('LPUSH', KEYS[8], pointerId)
end
local function keep_with_pointer(key)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
`;

// + KEYS[9] group epoch. ARGV: pointerId, groupId, sender identity, sender device, createdAt,
// retention seconds, epoch seen when the expected set was computed, then the endpoint keys.
// Returns 1 created, 0 id taken, -1 membership changed meanwhile (recompute and retry).
const REGISTER = `${TO_PURGING}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if (redis.call('GET', KEYS[9]) or '0') ~= ARGV[7] then return -1 end
redis.call('HSET', KEYS[1], 'groupId', ARGV[2], 'senderIdentity', ARGV[3], 'senderDevice', ARGV[4],
  'state', 'pending', 'createdAt', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if #ARGV < 8 then
  to_purging(ARGV[1], 'no-recipients')
  return 1
end
for i = 8, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
keep_with_pointer(KEYS[2])
local now = now_ms()
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('ZADD', KEYS[6], now, ARGV[1])
return 1
`;

// ARGV: endpoint key, pointer id, group id. Returns {-1} unknown pointer, {-2} not a recipient,
// else {remaining, 1 if this endpoint's first ack}. Acks after 'pending' change nothing.
const ACK = `${TO_PURGING}
if redis.call('HGET', KEYS[1], 'groupId') ~= ARGV[3] then return {-1} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {-2} end
local state = redis.call('HGET', KEYS[1], 'state')
local added = 0
if state == 'pending' then
  added = redis.call('SADD', KEYS[3], ARGV[1])
  keep_with_pointer(KEYS[3])
end
local remaining = redis.call('SCARD', KEYS[2]) - redis.call('SCARD', KEYS[3])
if remaining == 0 and state == 'pending' then to_purging(ARGV[2], 'acknowledged') end
return {remaining, added}
`;

// ARGV: pointer id, reason, endpoint keys. Drops the endpoints that have not acknowledged yet.
// Returns {dropped count, 1 if the pointer went to 'purging'}.
const DROP = `${TO_PURGING}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' then
  redis.call('ZREM', KEYS[6], ARGV[1])
  if not state then redis.call('ZREM', KEYS[5], ARGV[1]) end
  return {0, 0}
end
local n = 0
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 and redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then
    redis.call('SREM', KEYS[2], ARGV[i])
    redis.call('SADD', KEYS[4], ARGV[i])
    n = n + 1
  end
end
if n > 0 then keep_with_pointer(KEYS[4]) end
if redis.call('SCARD', KEYS[2]) - redis.call('SCARD', KEYS[3]) == 0 then
  to_purging(ARGV[1], ARGV[2])
  return {n, 1}
end
return {n, 0}
`;

// ARGV: pointer id. The sweeper's step: a pointer still pending is forced to purge as 'expired'.
const EXPIRE = `${TO_PURGING}
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' then
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
  return 0
end
to_purging(ARGV[1], 'expired')
return 1
`;

// KEYS: pointer hash, purging index, audit pending list. ARGV: pointer id, purgedAt, pending
// receipt. The terminal state and the deletion receipt are committed together, exactly once (the
// state check refuses a repeat); the audit sealer then moves the receipt into the chain.
const MARK_PURGED = `${NOW_MS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {-1}
end
if state == 'purged' or state == 'expired' then return {-2} end
if state == 'pending' then return {-3} end
local final = 'purged'
if redis.call('HGET', KEYS[1], 'reason') == 'expired' then final = 'expired' end
redis.call('HSET', KEYS[1], 'state', final, 'purgedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'failedAt')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
local since = tonumber(redis.call('HGET', KEYS[1], 'purgingAt')) or now_ms()
return {1, now_ms() - since}
`;

// KEYS as MARK_PURGED. ARGV: pointer id, failedAt, pending audit entry. Only from 'purging'.
const MARK_FAILED = `
if redis.call('HGET', KEYS[1], 'state') ~= 'purging' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'failed', 'failedAt', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
`;

const STATES: readonly string[] = ['pending', 'purging', 'purged', 'expired', 'failed'];
const REASONS: readonly string[] = ['acknowledged', 'expired', 'member-removed', 'device-removed', 'no-recipients'];
const byKey = (a: Endpoint, b: Endpoint) => (endpointKey(a) < endpointKey(b) ? -1 : 1);

/**
 * The acknowledgement ledger. Each pointer's records expire `retentionSeconds` after registration
 * (longer than the Sync item TTL), so the ledger stays bounded even if a recipient never acks.
 */
export class PointerLedger {
  private readonly registerScript;
  private readonly ackScript;
  private readonly dropScript;
  private readonly expireScript;
  private readonly markPurgedScript;
  private readonly markFailedScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Called after a transition left an audit entry pending (workers kick their AuditSealer). */
    private readonly onAuditEnqueued: () => void = () => undefined,
  ) {
    this.registerScript = defineScript<number>(redis, 'conduitRegisterPointer', 9, REGISTER);
    this.ackScript = defineScript<number[]>(redis, 'conduitAck', 8, ACK);
    this.dropScript = defineScript<[number, number]>(redis, 'conduitDropEndpoints', 8, DROP);
    this.expireScript = defineScript<number>(redis, 'conduitExpirePointer', 8, EXPIRE);
    this.markPurgedScript = defineScript<number[]>(redis, 'conduitMarkPurged', 3, MARK_PURGED);
    this.markFailedScript = defineScript<number>(redis, 'conduitMarkFailed', 3, MARK_FAILED);
  }

  private scriptKeys(pointerId: string, groupId: string): string[] {
    const k = this.keys;
    return [
      k.pointer(pointerId),
      k.pointerExpected(pointerId),
      k.pointerAcked(pointerId),
      k.pointerDropped(pointerId),
      k.pendingPointers(),
      k.groupPending(groupId),
      k.purgingPointers(),
      k.outbox(),
    ];
  }

  private terminalKeys(pointerId: string): string[] {
    const k = this.keys;
    return [k.pointer(pointerId), k.purgingPointers(), k.auditPending()];
  }

  /** The group's membership epoch: read it before computing a pointer's expected endpoints. */
  async epochOf(groupId: string): Promise<string> {
    return (await this.redis.get(this.keys.groupEpoch(groupId))) ?? '0';
  }

  /**
   * 'created'; 'exists' when the id is taken; 'stale' when a member or device was removed since
   * `epoch` was read (the expected set may name it: recompute and retry).
   */
  async register(input: {
    pointerId: string;
    groupId: string;
    sender: Endpoint;
    expected: readonly Endpoint[];
    createdAt: Date;
    retentionSeconds: number;
    epoch: string;
  }): Promise<'created' | 'exists' | 'stale'> {
    const code = await this.registerScript(
      [...this.scriptKeys(input.pointerId, input.groupId), this.keys.groupEpoch(input.groupId)],
      [
        input.pointerId,
        input.groupId,
        input.sender.identity,
        input.sender.deviceId,
        input.createdAt.toISOString(),
        input.retentionSeconds,
        input.epoch,
        ...input.expected.map(endpointKey),
      ],
    );
    return code === 1 ? 'created' : code === 0 ? 'exists' : 'stale';
  }

  async acknowledge(pointerId: string, endpoint: Endpoint): Promise<AckResult> {
    const groupId = await this.groupOf(pointerId);
    if (groupId === null) return { ok: false, reason: 'POINTER_NOT_FOUND' };
    const [code, added] = await this.ackScript(this.scriptKeys(pointerId, groupId), [
      endpointKey(endpoint),
      pointerId,
      groupId,
    ]);
    if (code === -1 || code === undefined) return { ok: false, reason: 'POINTER_NOT_FOUND' };
    if (code === -2) return { ok: false, reason: 'NOT_A_RECIPIENT' };
    return { ok: true, remaining: code, firstAck: added === 1 };
  }

  /** Drops the endpoints' pending acknowledgements from one pointer of the group. */
  async dropEndpoints(
    pointerId: string,
    groupId: string,
    endpoints: readonly Endpoint[],
    reason: 'member-removed' | 'device-removed',
  ): Promise<{ dropped: number; purging: boolean }> {
    if (endpoints.length === 0) return { dropped: 0, purging: false };
    const [dropped, purging] = await this.dropScript(this.scriptKeys(pointerId, groupId), [
      pointerId,
      reason,
      ...endpoints.map(endpointKey),
    ]);
    return { dropped, purging: purging === 1 };
  }

  /** Walks the group's pending pointers (ZSCAN: entries removed meanwhile are tolerated). */
  async *pendingInGroup(groupId: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.keys.groupPending(groupId), cursor, 'COUNT', 500);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }

  /** Pending pointers registered before `cutoff`, oldest first. */
  async pendingBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pendingPointers(), '-inf', `(${cutoff.getTime()}`, 'LIMIT', 0, limit);
  }

  /** Pointers that entered 'purging' before `cutoff`, oldest first. */
  async purgingBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.purgingPointers(), '-inf', `(${cutoff.getTime()}`, 'LIMIT', 0, limit);
  }

  /** Forces a still-pending pointer to purge as 'expired'; false if it was no longer pending. */
  async expire(pointerId: string): Promise<boolean> {
    const groupId = await this.groupOf(pointerId);
    if (groupId === null) {
      await this.redis.zrem(this.keys.pendingPointers(), pointerId);
      return false;
    }
    return (await this.expireScript(this.scriptKeys(pointerId, groupId), [pointerId])) === 1;
  }

  /**
   * Terminal transition plus its deletion receipt (`receipt` = canonical audit entry body), which
   * is left pending for the audit sealer in the same atomic step.
   */
  async markPurged(pointerId: string, at: Date, receipt: string): Promise<MarkPurgedResult> {
    const [code, latency] = await this.markPurgedScript(this.terminalKeys(pointerId), [
      pointerId,
      at.toISOString(),
      pendingItem(newEntryId(), receipt),
    ]);
    if (code === 1) {
      this.onAuditEnqueued();
      return { ok: true, latencyMs: Math.max(0, latency ?? 0) };
    }
    return { ok: false, reason: code === -1 ? 'missing' : code === -2 ? 'already' : 'not-purging' };
  }

  /** 'purging' -> 'failed' with its audit entry; false when the pointer was not purging. */
  async markFailed(pointerId: string, at: Date, entry: string): Promise<boolean> {
    const item = pendingItem(newEntryId(), entry);
    if ((await this.markFailedScript(this.terminalKeys(pointerId), [pointerId, at.toISOString(), item])) !== 1)
      return false;
    this.onAuditEnqueued();
    return true;
  }

  async groupOf(pointerId: string): Promise<string | null> {
    return this.redis.hget(this.keys.pointer(pointerId), 'groupId');
  }

  /** groupOf for many pointers in one round trip (the outbox relay's batches). */
  async groupsOf(pointerIds: readonly string[]): Promise<(string | null)[]> {
    if (pointerIds.length === 0) return [];
    const replies = await this.redis
      .pipeline(pointerIds.map((id) => ['hget', this.keys.pointer(id), 'groupId']))
      .exec();
    return (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return typeof value === 'string' ? value : null;
    });
  }

  async stateOf(pointerId: string): Promise<PointerStateName | null> {
    const state = await this.redis.hget(this.keys.pointer(pointerId), 'state');
    return state !== null && STATES.includes(state) ? (state as PointerStateName) : null;
  }

  async get(pointerId: string): Promise<PointerRecord | null> {
    const results = (await this.redis
      .multi()
      .hgetall(this.keys.pointer(pointerId))
      .smembers(this.keys.pointerExpected(pointerId))
      .smembers(this.keys.pointerAcked(pointerId))
      .smembers(this.keys.pointerDropped(pointerId))
      .exec()) as [Error | null, unknown][];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
    const [hash, expected, acked, dropped] = results.map(([, value]) => value) as [
      Record<string, string>,
      string[],
      string[],
      string[],
    ];
    const { groupId, senderIdentity, senderDevice, state, reason, createdAt, purgedAt, failedAt } = hash;
    if (!groupId || !senderIdentity || !senderDevice || !createdAt) return null;
    if (!state || !STATES.includes(state)) return null;
    return {
      pointerId,
      groupId,
      sender: { identity: senderIdentity, deviceId: senderDevice },
      state: state as PointerStateName,
      ...(reason && REASONS.includes(reason) ? { reason: reason as PurgeReason } : {}),
      expected: [...expected, ...dropped].map(parseEndpointKey).sort(byKey),
      acknowledged: acked.map(parseEndpointKey).sort(byKey),
      dropped: dropped.map(parseEndpointKey).sort(byKey),
      createdAt,
      ...(purgedAt ? { purgedAt } : {}),
      ...(failedAt ? { failedAt } : {}),
    };
  }
}
