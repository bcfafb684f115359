--[[
  at_seq(seq): the record version JSON stored at `seq` in the feed, KEYS[1] (false if none).
]]
local function at_seq(seq)
  local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
  return found[1] or false
end
