--[[
  Replaces an active device's sealed name.

  Input:
    KEYS[1] the identity's devices hash
    KEYS[2] the identity's device names hash

    ARGV[1] device id
    ARGV[2] sealed name

  Output:
    1 - named
    0 - no such active device (nothing changes)
]]
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
