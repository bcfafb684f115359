--[[
  Records one endpoint's acknowledgement (and its signed receipt) of a pending pointer; the last
  one moves the pointer to 'purging'. Acks after 'pending' change nothing.

  Input:
    KEYS[1] pointer hash
    KEYS[2] expected endpoints set
    KEYS[3] acknowledged endpoints set
    KEYS[4] dropped endpoints set
    KEYS[5] pending pointers index (sorted set)
    KEYS[6] the group's pending pointers index (sorted set)
    KEYS[7] purging pointers index (sorted set)
    KEYS[8] outbox list
    KEYS[9] receipts hash

    ARGV[1] endpoint key
    ARGV[2] pointer id
    ARGV[3] group id
    ARGV[4] object id ('' for none)
    ARGV[5] envelope SHA-256 (hex)
    ARGV[6] receipt ('<at> <signature>')

  Output:
    {-1} - unknown pointer (or another group's)
    {-2} - the endpoint is not a recipient
    {-3} - the ack names another object or envelope than the binding (nothing changes)
    {-4} - the file was withdrawn (nothing changes)
    {remaining, added} - acknowledgements still missing; added is 1 on this endpoint's first ack, else 0
]]
--- @include "toPurging"
if redis.call('HGET', KEYS[1], 'groupId') ~= ARGV[3] then return {-1} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {-2} end
if redis.call('HGET', KEYS[1], 'objectId') ~= ARGV[4] or redis.call('HGET', KEYS[1], 'envelopeSha256') ~= ARGV[5] then
  return {-3}
end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'withdrawn' then return {-4} end
local added = 0
if state == 'pending' then
  added = redis.call('SADD', KEYS[3], ARGV[1])
  keep_with_pointer(KEYS[3])
  if added == 1 then
    redis.call('HSET', KEYS[9], ARGV[1], ARGV[6])
    keep_with_pointer(KEYS[9])
  end
end
local remaining = redis.call('SCARD', KEYS[2]) - redis.call('SCARD', KEYS[3])
if remaining == 0 and state == 'pending' then to_purging(ARGV[2], 'acknowledged') end
return {remaining, added}
