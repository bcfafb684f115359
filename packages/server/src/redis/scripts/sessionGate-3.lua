--[[
  The session gate, read on every authenticated request and every token issuance: the lock, the
  session epoch and the device are all checked in this one round trip.

  Input:
    KEYS[1] the identity's devices hash
    KEYS[2] the identity's revoked devices set
    KEYS[3] the identity's session state hash (locked, epoch)

    ARGV[1] device id
    ARGV[2] the token's session epoch ('' = none: identity-provider tokens)
    ARGV[3] the token's device session epoch ('' = none); the state hash's field 'dev:<device id>'
            is the device's, moved by a logout of that device

  Output:
    'locked' - the operator locked the identity
    'expired' - the token predates a password change, a lock or a logout of its device
    'revoked' - the device was revoked
    'active' - the device is registered
    'unknown' - the device was never registered (or not yet)
]]
local state = redis.call('HMGET', KEYS[3], 'locked', 'epoch', 'dev:' .. ARGV[1])
if state[1] == '1' then return 'locked' end
if ARGV[2] ~= '' and tonumber(ARGV[2]) < (tonumber(state[2]) or 0) then return 'expired' end
if ARGV[3] ~= '' and tonumber(ARGV[3]) < (tonumber(state[3]) or 0) then return 'expired' end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'revoked' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'active' end
return 'unknown'
