--[[
  Gives stored bytes back to one identity's quota once per refund id (an object deletion's refund
  item, limits/quota-refunds.ts): a drainer that crashed after this step, or a second one, finds
  the id applied and changes nothing. A deleted identity (no usage hash) gets nothing back.

  Input:
    KEYS[1] usage hash (field 'bytes')
    KEYS[2] applied refund ids (hash id -> bytes; expires a day after the last refund)

    ARGV[1] refund id
    ARGV[2] bytes to give back
    ARGV[3] how long applied ids are remembered (seconds)

  Output:
    1 - given back now
    0 - applied before, or no such identity: nothing changed
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3])
-- HINCRBY takes the integer as text: Lua would print a large number as 1e+15.
local used = redis.call('HINCRBY', KEYS[1], 'bytes', string.format('%d', -tonumber(ARGV[2])))
if used < 0 then redis.call('HSET', KEYS[1], 'bytes', 0) end
return 1
