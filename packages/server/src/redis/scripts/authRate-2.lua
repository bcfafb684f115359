--[[
  Counts one password attempt in two fixed windows, per identity and per client address.

  Input:
    KEYS[1] identity attempts counter
    KEYS[2] address attempts counter

    ARGV[1] window ms
    ARGV[2] identity limit
    ARGV[3] address limit

  Output:
    0 - both counters are within their limits
    n > 0 - over a limit: the ms until the later window ends
]]
local wait = 0
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  if n > tonumber(ARGV[i + 1]) then wait = math.max(wait, redis.call('PTTL', KEYS[i])) end
end
return wait
