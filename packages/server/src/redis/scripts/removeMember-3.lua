--[[
  Removes a member from a group. Bumping the epoch makes any pointer registration that read the
  old membership retry.

  Input:
    KEYS[1] group members set
    KEYS[2] group membership epoch
    KEYS[3] the identity's group index set

    ARGV[1] identity
    ARGV[2] group id

  Output:
    1 - removed
    0 - it was not a member (nothing changes)
]]
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1
