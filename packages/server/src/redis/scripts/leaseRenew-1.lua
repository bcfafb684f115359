--[[
  Extends a lease its holder still holds (compare-and-expire), so a holder that lost it (expired,
  taken by another) never extends someone else's.

  Input:
    KEYS[1] lease key

    ARGV[1] holder token
    ARGV[2] lease length (ms)

  Output:
    1 - renewed
    0 - not held by this token
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
