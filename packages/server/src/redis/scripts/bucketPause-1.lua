--[[
  Empties a Sync object's write bucket so no worker writes to the object for the pause (Sync
  answered 429 with Retry-After).

  Input:
    KEYS[1] bucket hash (tokens, ts)

    ARGV[1] rate (tokens per second)
    ARGV[2] pause ms

  Output:
    1 - always
]]
--- @include "nowMs"
local now = now_ms()
local debt = -tonumber(ARGV[2]) * tonumber(ARGV[1]) / 1000
local current = tonumber(redis.call('HGET', KEYS[1], 'tokens')) or 0
if debt < current then
  redis.call('HSET', KEYS[1], 'tokens', tostring(debt), 'ts', string.format('%d', now))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
return 1
