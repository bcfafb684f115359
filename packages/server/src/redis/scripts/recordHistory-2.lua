--[[
  One snapshot of a record's bounded history, oldest first.

  Input:
    KEYS[1] the group's records feed
    KEYS[2] the record's history list (seqs)

  Output:
    {json...} - the versions still in the feed, oldest first (empty when none)
]]
--- @include "atSeq"
local out = {}
for _, seq in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local json = at_seq(seq)
  if json then out[#out + 1] = json end
end
return out
