--[[
  Removes a member from a group. Bumping the epoch makes any pointer registration that read the
  old membership retry. The identity's group index lives in the identity's own slot: the caller
  removes the entry after this step (a leftover entry is filtered out when read).

  Input:
    KEYS[1] group members set
    KEYS[2] group membership epoch

    ARGV[1] identity

  Output:
    1 - removed
    0 - it was not a member (nothing changes)
]]
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1
