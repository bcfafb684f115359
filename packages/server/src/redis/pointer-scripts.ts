/** The acknowledgement ledger's Lua scripts (PointerLedger runs them; each is one atomic step). */

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
// purge can only be lost together with the whole ledger entry. The kept item copy (KEEP_ITEM) goes:
// nothing re-publishes a pointer past 'pending'.
const TO_PURGING = `${NOW_MS}
local function to_purging(pointerId, reason)
  local now = now_ms()
  redis.call('HSET', KEYS[1], 'state', 'purging', 'reason', reason, 'purgingAt', string.format('%d', now))
  redis.call('HDEL', KEYS[1], 'item')
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
// retention seconds, epoch seen when the expected set was computed, object id ('' for none),
// envelope SHA-256, then the endpoint keys.
// Returns 1 created, 0 id taken, -1 membership changed meanwhile (recompute and retry).
export const REGISTER = `${TO_PURGING}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if (redis.call('GET', KEYS[9]) or '0') ~= ARGV[7] then return -1 end
redis.call('HSET', KEYS[1], 'groupId', ARGV[2], 'senderIdentity', ARGV[3], 'senderDevice', ARGV[4],
  'state', 'pending', 'createdAt', ARGV[5], 'objectId', ARGV[8], 'envelopeSha256', ARGV[9])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if #ARGV < 10 then
  to_purging(ARGV[1], 'no-recipients')
  return 1
end
for i = 10, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
keep_with_pointer(KEYS[2])
local now = now_ms()
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('ZADD', KEYS[6], now, ARGV[1])
return 1
`;

// + KEYS[9] receipts hash. ARGV: endpoint key, pointer id, group id, object id ('' for none),
// envelope SHA-256, receipt ('<at> <signature>'). Returns {-1} unknown pointer, {-2} not a
// recipient, {-3} the ack names another object or envelope than the binding (nothing changes),
// else {remaining, 1 if this endpoint's first ack}. Acks after 'pending' change nothing.
export const ACK = `${TO_PURGING}
if redis.call('HGET', KEYS[1], 'groupId') ~= ARGV[3] then return {-1} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {-2} end
if redis.call('HGET', KEYS[1], 'objectId') ~= ARGV[4] or redis.call('HGET', KEYS[1], 'envelopeSha256') ~= ARGV[5] then
  return {-3}
end
local state = redis.call('HGET', KEYS[1], 'state')
local added = 0
if state == 'pending' then
  added = redis.call('SADD', KEYS[3], ARGV[1])
  keep_with_pointer(KEYS[3])
  if added == 1 then
    redis.call('HSET', KEYS[9], ARGV[1], ARGV[6])
    keep_with_pointer(KEYS[9])
  end
end
local remaining = redis.call('SCARD', KEYS[2]) - redis.call('SCARD', KEYS[3])
if remaining == 0 and state == 'pending' then to_purging(ARGV[2], 'acknowledged') end
return {remaining, added}
`;

// ARGV: pointer id, reason, endpoint keys. Drops the endpoints that have not acknowledged yet.
// Returns {dropped count, 1 if the pointer went to 'purging'}.
export const DROP = `${TO_PURGING}
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
export const EXPIRE = `${TO_PURGING}
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
export const MARK_PURGED = `${NOW_MS}
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
export const MARK_FAILED = `
if redis.call('HGET', KEYS[1], 'state') ~= 'purging' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'failed', 'failedAt', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
`;

// KEYS: pointer hash. ARGV: the published Sync item's JSON. Kept only while the pointer is pending
// (the healing pass re-publishes it from here when its Sync item or map is gone).
export const KEEP_ITEM = `
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'item', ARGV[1])
return 1
`;
