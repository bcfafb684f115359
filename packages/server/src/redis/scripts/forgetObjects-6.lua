--[[
  Forgets deleted objects in the object index and leaves their deletion receipt pending for the
  audit sealer, in one step: the receipt is written exactly once, by whichever eraser gets here
  first (a rerun after a crash, or a second worker, finds the ids gone and writes nothing). A caller
  that keeps a tally (group deletion: the `group-deleted` entry's counts) has it counted in the same
  step, so a crash can neither lose nor double a batch. The bytes the uploaders' stored-bytes
  quotas counted for the batch go on the shard's refund outbox in the same step (exactly once too;
  limits/quota-refunds.ts gives them back).

  Input:
    KEYS[1] the group's objects (sorted set)
    KEYS[2] the group's object meta (hash)
    KEYS[3] audit pending list of the group's shard
    KEYS[4] the shard's groups with objects (set)
    KEYS[5] the tally hash (fields objects, bytes), or any key of the slot when ARGV[4] is '0'
    KEYS[6] the shard's quota refund outbox (list)

    ARGV[1] group id
    ARGV[2] pending audit item (the receipt naming exactly ARGV[5..])
    ARGV[3] the batch's bytes
    ARGV[4] '1' to count the batch in KEYS[5], '0' not to
    ARGV[5] the refund item for KEYS[6] ('' when the batch counted no bytes)
    ARGV[6..] object ids

  Output:
    n  - all n ids were indexed: forgotten, receipt pending (and counted)
    0  - none was indexed any more: nothing written
    -1 - some were, some not: nothing written (the caller re-reads and retries)
]]
local present = 0
for i = 6, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then present = present + 1 end
end
if present == 0 then return 0 end
if present < #ARGV - 5 then return -1 end
for i = 6, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
redis.call('RPUSH', KEYS[3], ARGV[2])
if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[6], ARGV[5]) end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[4], ARGV[1]) end
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[5], 'objects', present)
  redis.call('HINCRBY', KEYS[5], 'bytes', ARGV[3])
end
return present
