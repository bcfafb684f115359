--[[
  Records retention, last phase of a batch: once its S3 deletions are done, leaves its
  `records-deleted` receipt pending for the audit sealer and clears the intent, in one step, so the
  receipt is written exactly once (a rerun finds no intent, or another batch's, and writes nothing).

  Input:
    KEYS[1] the group's retention intent (string, JSON with field 'id')
    KEYS[2] audit pending list of the group's shard

    ARGV[1] the intent's id
    ARGV[2] pending audit item (the receipt)

  Output:
    1 - receipt pending, intent cleared
    0 - no such intent (already committed): nothing written
]]
local raw = redis.call('GET', KEYS[1])
if not raw or cjson.decode(raw).id ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
