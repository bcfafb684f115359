--[[
  Starts a group's deletion: a ready group becomes 'deleting' (every group route then answers
  404, and the id stays taken) and joins its shard's to-do list of deletions, which the worker
  drains (lifecycle/group-deletion.ts).

  Input:
    KEYS[1] group hash
    KEYS[2] the shard's group deletions (sorted set)

    ARGV[1] group id
    ARGV[2] deletedAt (ISO)
    ARGV[3] by (identity or operator)
    ARGV[4] reason ('' for none)
    ARGV[5] now (ms)

  Output:
    1 - tombstoned now
    0 - the group is not ready (absent, provisioning, or already being deleted)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'ready' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'deleting', 'deletedAt', ARGV[2], 'deletedBy', ARGV[3], 'deleteReason', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
