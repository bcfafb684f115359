--[[
  Registers a pointer in the acknowledgement ledger: state 'pending', its expected endpoints and
  its place in the pending indexes, unless the group's membership changed since the expected set
  was computed. A pointer with no recipients goes straight to 'purging' ('no-recipients').

  Input:
    KEYS[1] pointer hash
    KEYS[2] expected endpoints set
    KEYS[3] acknowledged endpoints set
    KEYS[4] dropped endpoints set
    KEYS[5] pending pointers index (sorted set)
    KEYS[6] the group's pending pointers index (sorted set)
    KEYS[7] purging pointers index (sorted set)
    KEYS[8] outbox list
    KEYS[9] group membership epoch

    ARGV[1] pointer id
    ARGV[2] group id
    ARGV[3] sender identity
    ARGV[4] sender device id
    ARGV[5] createdAt (ISO)
    ARGV[6] retention seconds
    ARGV[7] group epoch read when the expected set was computed
    ARGV[8] object id ('' for none)
    ARGV[9] envelope SHA-256 (hex)
    ARGV[10...] expected endpoint keys

  Output:
    1 - created
    0 - the pointer id is taken
    -1 - membership changed meanwhile (recompute the expected set and retry)
]]
--- @include "toPurging"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if (redis.call('GET', KEYS[9]) or '0') ~= ARGV[7] then return -1 end
redis.call('HSET', KEYS[1], 'groupId', ARGV[2], 'senderIdentity', ARGV[3], 'senderDevice', ARGV[4],
  'state', 'pending', 'createdAt', ARGV[5], 'objectId', ARGV[8], 'envelopeSha256', ARGV[9])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if #ARGV < 10 then
  to_purging(ARGV[1], 'no-recipients')
  return 1
end
for i = 10, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
keep_with_pointer(KEYS[2])
local now = now_ms()
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('ZADD', KEYS[6], now, ARGV[1])
return 1
