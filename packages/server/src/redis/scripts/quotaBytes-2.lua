--[[
  The stored-bytes quota of one identity: reserve bytes, or finish a reservation.

  Input:
    KEYS[1] usage hash (field 'bytes')
    KEYS[2] reservations hash (reservation id -> bytes)

    ARGV[1] 'reserve' | 'finish'
    ARGV[2] reserve: the bytes; finish: how many of the reserved bytes stay counted (0 = give all back)
    ARGV[3] reserve: the limit
    ARGV[4] reservation id ('' with reserve: counted for good, nothing to finish)

  Output:
    {1, used} - done; a reserve or finish repeated with the same id changes nothing
    {0, used} - reserve refused: used + bytes would exceed the limit
]]
local used = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
local id = ARGV[4]
if ARGV[1] == 'reserve' then
  if id ~= '' and redis.call('HEXISTS', KEYS[2], id) == 1 then return {1, used} end
  if used + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return {0, used} end
  used = redis.call('HINCRBY', KEYS[1], 'bytes', ARGV[2])
  if id ~= '' then redis.call('HSET', KEYS[2], id, ARGV[2]) end
  return {1, used}
end
local held = redis.call('HGET', KEYS[2], id)
if not held then return {1, used} end
redis.call('HDEL', KEYS[2], id)
local refund = tonumber(held) - math.min(tonumber(ARGV[2]), tonumber(held))
if refund > 0 then
  -- HINCRBY takes the integer as text: Lua would print a large number as 1e+15.
  used = redis.call('HINCRBY', KEYS[1], 'bytes', string.format('%d', -refund))
  if used < 0 then
    redis.call('HSET', KEYS[1], 'bytes', 0)
    used = 0
  end
end
return {1, used}
