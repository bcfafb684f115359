--[[
  The records scripts' shared reads. Expects KEYS[1] feed, and for head_of KEYS[2] heads and
  KEYS[3] versions.

  at_seq(seq): the version JSON stored at `seq` (false if none).
  head_of(recordId): the record's head version JSON (false if none).
]]
local function at_seq(seq)
  local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
  return found[1] or false
end
local function head_of(recordId)
  local vid = redis.call('HGET', KEYS[2], recordId)
  if not vid then return false end
  local entry = redis.call('HGET', KEYS[3], vid)
  return at_seq(string.match(entry, '^(%d+)'))
end
