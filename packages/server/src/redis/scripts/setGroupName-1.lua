--[[
  Replaces a ready group's sealed name (the latest wins).

  Input:
    KEYS[1] group hash

    ARGV[1] sealed name

  Output:
    1 - named
    0 - the group is not ready (nothing changes)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'ready' then return 0 end
redis.call('HSET', KEYS[1], 'sealedName', ARGV[1])
return 1
