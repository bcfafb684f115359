--[[
  Counts one event in a fixed window: the counter expires a window after its first event.

  Input:
    KEYS[1] counter

    ARGV[1] window seconds

  Output:
    n - the events counted in the current window, this one included
]]
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return used
