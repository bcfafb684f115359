--[[
  Revokes a device: removal and tombstone land together; the first revocation's time is kept
  (members judge envelopes by it); the device's sealed name goes with it.

  Input:
    KEYS[1] the identity's devices hash
    KEYS[2] the identity's revoked devices set
    KEYS[3] the identity's revocation times hash (device id -> '<createdAt> <revokedAt>')
    KEYS[4] the identity's device names hash

    ARGV[1] device id
    ARGV[2] now (ISO)

  Output:
    1 - the device was registered and is now removed
    0 - it was not registered (the tombstone is set all the same)
]]
local created = redis.call('HGET', KEYS[1], ARGV[1])
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
if created then redis.call('HSETNX', KEYS[3], ARGV[1], created .. ' ' .. ARGV[2]) end
return removed
