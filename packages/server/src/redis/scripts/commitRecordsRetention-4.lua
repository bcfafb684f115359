--[[
  Records retention, last phase of a batch: once its S3 deletions are done, leaves its
  `records-deleted` receipt pending for the audit sealer, puts the refund of the batch's envelope
  characters on the shard's quota refund outbox (taking them off the writers' shares of the feed),
  and clears the intent, in one step, so receipt and refund are written exactly once (a rerun
  finds no intent, or another batch's, and writes nothing).

  Input:
    KEYS[1] the group's retention intent (string, JSON with field 'id')
    KEYS[2] audit pending list of the group's shard
    KEYS[3] envelope characters per writer (hash identity -> characters)
    KEYS[4] the shard's quota refund outbox (list)

    ARGV[1] the intent's id
    ARGV[2] pending audit item (the receipt)
    ARGV[3] the refund item (JSON {id, refunds: [identity, characters][]}; '' when none)

  Output:
    1 - receipt (and refund) pending, intent cleared
    0 - no such intent (already committed): nothing written
]]
local raw = redis.call('GET', KEYS[1])
if not raw or cjson.decode(raw).id ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[3])
  for _, pair in ipairs(cjson.decode(ARGV[3]).refunds) do
    if redis.call('HINCRBY', KEYS[3], pair[1], string.format('%d', -pair[2])) <= 0 then
      redis.call('HDEL', KEYS[3], pair[1])
    end
  end
end
redis.call('DEL', KEYS[1])
return 1
