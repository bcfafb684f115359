--[[
  Creates an OPAQUE account unless the identity is taken (by either kind of account).

  Input:
    KEYS[1] account hash
    KEYS[2] the identity's known marker

    ARGV[1] OPAQUE registration record

  Output:
    1 - created
    0 - the identity is taken (nothing changes)
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'opaque', ARGV[1])
redis.call('SET', KEYS[2], '1')
return 1
