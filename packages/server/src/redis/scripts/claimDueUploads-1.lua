--[[
  Hands out uploads due for cleaning. Due ids are pushed one lease into the future as they are
  handed out, so concurrent cleaners do not both take them and a crash mid-way only delays an id
  by one lease.

  Input:
    KEYS[1] uploads expiry set (upload id scored by the time it may be aborted)

    ARGV[1] now ms
    ARGV[2] lease ms
    ARGV[3] limit

  Output:
    {uploadId...} - the due ids handed out (empty when none)
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local leased = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], leased, id) end
return due
