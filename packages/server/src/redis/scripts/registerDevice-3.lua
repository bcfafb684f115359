--[[
  Registers a device of an identity, idempotently. The tombstone is checked in the same script,
  so a revocation racing an enrollment can never leave the revoked id registered.

  Input:
    KEYS[1] the identity's devices hash (device id -> createdAt)
    KEYS[2] the identity's revoked devices set
    KEYS[3] the identity's known marker

    ARGV[1] device id
    ARGV[2] now (ISO): createdAt of a new device
    ARGV[3] device limit per identity

  Output:
    {1, createdAt} - registered (now, or earlier: the original createdAt)
    {0, ''} - the identity has reached the device limit
    {-1, ''} - the device id was revoked
]]
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {-1, ''} end
local created = redis.call('HGET', KEYS[1], ARGV[1])
if created then return {1, created} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {0, ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[3], '1')
return {1, ARGV[2]}
