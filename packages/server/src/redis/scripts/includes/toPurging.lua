--[[
  The pointer ledger's shared steps. Expects the pointer scripts' first eight keys:
    KEYS[1] pointer hash, KEYS[5] pending index, KEYS[6] group pending index,
    KEYS[7] purging index, KEYS[8] outbox list.

  to_purging(pointerId, reason): the one way out of 'pending': indexes move and the outbox gets
  the id, in the same step, so a purge can only be lost together with the whole ledger entry. The
  kept item copy (keepItem) goes: nothing re-publishes a pointer past 'pending'.
  keep_with_pointer(key): gives `key` the pointer hash's remaining TTL.
]]
--- @include "nowMs"
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
