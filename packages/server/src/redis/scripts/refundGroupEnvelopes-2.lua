--[[
  Group deletion: turns the group's envelope characters per writer (what their stored-bytes quotas
  counted for the feed) into one refund item on the shard's quota refund outbox and drops the
  counts, in one step: a rerun finds no counts and writes nothing.

  Input:
    KEYS[1] envelope characters per writer (hash identity -> characters)
    KEYS[2] the shard's quota refund outbox (list)

    ARGV[1] the refund item's id

  Output:
    n - writers refunded (0: no counts left, nothing written)
]]
local flat = redis.call('HGETALL', KEYS[1])
local refunds = {}
for i = 1, #flat, 2 do
  local chars = tonumber(flat[i + 1])
  if chars > 0 then table.insert(refunds, { flat[i], chars }) end
end
redis.call('DEL', KEYS[1])
if #refunds == 0 then return 0 end
redis.call('RPUSH', KEYS[2], cjson.encode({ id = ARGV[1], refunds = refunds }))
return #refunds
