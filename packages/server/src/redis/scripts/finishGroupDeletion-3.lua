--[[
  Ends a group's deletion exactly once: the group hash shrinks to its tombstone {state 'deleted',
  deletedAt} (so the id can never be created again), the group leaves the to-do list, and its
  `group-deleted` audit entry is left pending for the sealer in the same step.

  Input:
    KEYS[1] group hash
    KEYS[2] the shard's group deletions (sorted set)
    KEYS[3] audit pending list

    ARGV[1] group id
    ARGV[2] pending audit item (the group-deleted entry)

  Output:
    1 - finished now
    0 - it was not being deleted (finished before; it only leaves the to-do list)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'deleting' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
local deletedAt = redis.call('HGET', KEYS[1], 'deletedAt')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'deleted', 'deletedAt', deletedAt)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[2])
return 1
