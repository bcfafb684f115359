--[[
  Takes a token from a Sync object's write bucket. Uses Redis's clock so every worker shares one
  time base.

  Input:
    KEYS[1] bucket hash (tokens, ts)

    ARGV[1] rate (tokens per second)
    ARGV[2] burst (bucket size)

  Output:
    0 - a token was taken
    n > 0 - none left: the ms until one will be available
]]
--- @include "nowMs"
local now = now_ms()
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
