--[[
  'purging' -> 'failed' when the purge gives up, with its audit entry, in one step.

  Input:
    KEYS[1] pointer hash
    KEYS[2] purging pointers index (sorted set)
    KEYS[3] audit pending list

    ARGV[1] pointer id
    ARGV[2] failedAt (ISO)
    ARGV[3] pending audit item

  Output:
    1 - marked failed
    0 - the pointer was not purging (nothing changes)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'purging' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'failed', 'failedAt', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
