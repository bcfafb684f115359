--[[
  Releases a lease only if this holder still holds it (compare-and-delete).

  Input:
    KEYS[1] lease key

    ARGV[1] holder token

  Output:
    1 - released
    0 - not held by this token
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
