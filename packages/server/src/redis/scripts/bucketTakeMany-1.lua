--[[
  Takes n tokens at once from a shared token bucket (the retention job's deletes per second, over
  every worker). Uses Redis's clock so every worker shares one time base. n is at most the burst.

  Input:
    KEYS[1] bucket hash (tokens, ts)

    ARGV[1] rate (tokens per second)
    ARGV[2] burst (bucket size)
    ARGV[3] n (tokens wanted)

  Output:
    0 - the n tokens were taken
    m > 0 - not enough yet: nothing taken, the ms until n will be available
]]
--- @include "nowMs"
local now = now_ms()
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = math.min(tonumber(ARGV[3]), burst)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= n then tokens = tokens - n else wait = math.ceil((n - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
