--[[
  A device's status, read on every authenticated request: one round trip.

  Input:
    KEYS[1] the identity's devices hash
    KEYS[2] the identity's revoked devices set

    ARGV[1] device id

  Output:
    'revoked' - removed, and refused for good
    'active' - registered
    'unknown' - never registered (or not yet)
]]
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'revoked' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'active' end
return 'unknown'
