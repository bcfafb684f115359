--[[
  The sweeper's step: a pointer still pending is forced to purge as 'expired'; one no longer
  pending only leaves the pending indexes.

  Input:
    KEYS[1] pointer hash
    KEYS[2] expected endpoints set
    KEYS[3] acknowledged endpoints set
    KEYS[4] dropped endpoints set
    KEYS[5] pending pointers index (sorted set)
    KEYS[6] the group's pending pointers index (sorted set)
    KEYS[7] purging pointers index (sorted set)
    KEYS[8] outbox list

    ARGV[1] pointer id

  Output:
    1 - the pointer went to 'purging' (reason 'expired')
    0 - it was no longer pending
]]
--- @include "toPurging"
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' then
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
  return 0
end
to_purging(ARGV[1], 'expired')
return 1
