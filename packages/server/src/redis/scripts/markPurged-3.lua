--[[
  Terminal transition of a purged pointer ('purged', or 'expired' when the sweeper forced it) and
  its deletion receipt, committed together exactly once (the state check refuses a repeat); the
  audit sealer then moves the receipt into the chain.

  Input:
    KEYS[1] pointer hash
    KEYS[2] purging pointers index (sorted set)
    KEYS[3] audit pending list

    ARGV[1] pointer id
    ARGV[2] purgedAt (ISO)
    ARGV[3] pending audit item (the deletion receipt)

  Output:
    {1, latency} - marked; latency is the ms since the pointer entered 'purging'
    {-1} - no such pointer (it leaves the purging index)
    {-2} - already purged, expired or withdrawn
    {-3} - still pending
]]
--- @include "nowMs"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {-1}
end
if state == 'purged' or state == 'expired' or state == 'withdrawn' then return {-2} end
if state == 'pending' then return {-3} end
local final = 'purged'
if redis.call('HGET', KEYS[1], 'reason') == 'expired' then final = 'expired' end
redis.call('HSET', KEYS[1], 'state', final, 'purgedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'failedAt')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
local since = tonumber(redis.call('HGET', KEYS[1], 'purgingAt')) or now_ms()
return {1, now_ms() - since}
