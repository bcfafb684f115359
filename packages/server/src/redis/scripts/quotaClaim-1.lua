--[[
  Claims one member of an identity's counted quota (pending pointers, owned groups) within its limit.

  Input:
    KEYS[1] the quota's sorted set (member -> claim time, ms)

    ARGV[1] member
    ARGV[2] limit
    ARGV[3] now (ms)
    ARGV[4] claims made before this (ms) are dropped first: they cannot count any more (0: none)

  Output:
    {1, count} - claimed now
    {2, count} - held already (a retry counts once)
    {0, count} - refused: the set holds `limit` members
]]
if ARGV[4] ~= '0' then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4]) end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {2, redis.call('ZCARD', KEYS[1])} end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return {1, n + 1}
