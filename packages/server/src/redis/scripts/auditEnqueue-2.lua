--[[
  Puts an audit entry on the pending list once per entry id. ioredis resends a command whose reply
  was lost to a reconnect; the marker makes that resend add nothing.

  Input:
    KEYS[1] audit pending list
    KEYS[2] the entry id's marker

    ARGV[1] pending item
    ARGV[2] marker TTL seconds

  Output:
    1 - enqueued
    0 - the entry id was taken (nothing changes)
]]
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
