--[[
  head_of(recordId): the record's head version JSON (false if none). Expects KEYS[1] feed,
  KEYS[2] record heads hash, KEYS[3] versions hash.
]]
--- @include "atSeq"
local function head_of(recordId)
  local vid = redis.call('HGET', KEYS[2], recordId)
  if not vid then return false end
  local entry = redis.call('HGET', KEYS[3], vid)
  return at_seq(string.match(entry, '^(%d+)'))
end
