--[[
  Finishes an identity deletion: leaves its `identity-deleted` audit entry pending for the sealer
  and marks the deletion done, in one step, so the entry is written exactly once however often a
  deletion interrupted after its last store is run again.

  Input:
    KEYS[1] the deletion's progress record (hash; lifecycle/identity-deletion.ts)
    KEYS[2] audit pending list of the record's shard

    ARGV[1] pending audit item (the `identity-deleted` entry)
    ARGV[2] when (ISO time)

  Output:
    1 - the entry is pending, the deletion is done
    0 - the deletion was done already (or never started): nothing written
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'done', 'finishedAt', ARGV[2])
return 1
