--[[
  Trades a device's refresh token for the next one (rotation with reuse detection): the family's
  current token hash is replaced, the presented one remembered as used. A used token presented
  again means two holders (a leaked copy): the family is deleted and the device's session epoch
  bumped, which ends every session of that device. The family also ends once idle, past its
  absolute expiry, or when a password change, lock or logout moved an epoch past the one it was
  issued in.

  Input:
    KEYS[1] the device's refresh family hash (cur, sep, dse, idle, exp, and 'u:<hash>' per used token)
    KEYS[2] the identity's session state hash (locked, epoch, 'dev:<device id>')
    KEYS[3] the identity's revoked devices set

    ARGV[1] device id
    ARGV[2] SHA-256 (hex) of the presented refresh token
    ARGV[3] SHA-256 (hex) of the next refresh token
    ARGV[4] now (ms)
    ARGV[5] idle limit (ms): the next token must be used within it

  Output:
    {'rotated', epoch, deviceEpoch, exp} - the next token is current, a session is issued in these epochs, exp (ms) ends the family
    {'reused'} - the token was already traded: family deleted, device sessions ended
    {'unknown'} - no family, or not its token
    {'expired'} - idle or past its absolute expiry (family deleted)
    {'ended'} - an epoch moved past the family's (family deleted)
    {'locked'} - the operator locked the identity
    {'revoked'} - the device was revoked (family deleted)
]]
local fam = redis.call('HMGET', KEYS[1], 'cur', 'sep', 'dse', 'idle', 'exp')
if not fam[1] then return {'unknown'} end
if redis.call('HEXISTS', KEYS[1], 'u:' .. ARGV[2]) == 1 then
  redis.call('DEL', KEYS[1])
  redis.call('HINCRBY', KEYS[2], 'dev:' .. ARGV[1], 1)
  return {'reused'}
end
if fam[1] ~= ARGV[2] then return {'unknown'} end
local now = tonumber(ARGV[4])
if now >= tonumber(fam[4]) or now >= tonumber(fam[5]) then
  redis.call('DEL', KEYS[1])
  return {'expired'}
end
local state = redis.call('HMGET', KEYS[2], 'locked', 'epoch', 'dev:' .. ARGV[1])
if state[1] == '1' then return {'locked'} end
local epoch = tonumber(state[2]) or 0
local deviceEpoch = tonumber(state[3]) or 0
if tonumber(fam[2]) < epoch or tonumber(fam[3]) < deviceEpoch then
  redis.call('DEL', KEYS[1])
  return {'ended'}
end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1])
  return {'revoked'}
end
redis.call('HSET', KEYS[1], 'cur', ARGV[3], 'u:' .. ARGV[2], '1', 'idle', now + tonumber(ARGV[5]))
return {'rotated', epoch, deviceEpoch, tonumber(fam[5])}
