--[[
  Records retention: brings one record's history list in line with the feed after versions left it.
  A record without a head (its tombstone expired) loses the list; otherwise seqs no longer in the
  Redis feed leave it (the history route never showed them). Then the record leaves the to-prune set.

  Input:
    KEYS[1] the group's records feed
    KEYS[2] record heads hash
    KEYS[3] the record's history list (seqs)
    KEYS[4] record ids whose history lists are to be pruned (set)

    ARGV[1] record id

  Output:
    n - seqs removed from the list (the whole list for a record without a head)
]]
--- @include "atSeq"
local removed = 0
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  removed = redis.call('LLEN', KEYS[3])
  redis.call('DEL', KEYS[3])
else
  for _, seq in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
    if not at_seq(seq) then removed = removed + redis.call('LREM', KEYS[3], 0, seq) end
  end
end
redis.call('SREM', KEYS[4], ARGV[1])
return removed
