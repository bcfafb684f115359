--[[
  Drops the endpoints that have not acknowledged a pending pointer yet (member or device removed);
  when nobody is left to acknowledge, the pointer goes to 'purging'. A pointer no longer pending
  only leaves the indexes it is still in.

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
    ARGV[2] purge reason ('member-removed' or 'device-removed')
    ARGV[3...] endpoint keys to drop

  Output:
    {dropped, purging} - how many endpoints were dropped; purging is 1 if the pointer went to 'purging', else 0
]]
--- @include "toPurging"
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
