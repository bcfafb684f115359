--[[
  Moves the watermark of a group's archived feed from one page end to the next, once that page is
  stored in S3 (or, when records retention removed every version of it, found empty), and drops every archived version that is not a record's head from the Redis feed
  and from the versions and pointers indexes (heads stay whole: the head and conflict paths read
  them). Compare-and-set on the watermark, so two compactors (or a rerun after a crash) never move
  it twice or past a page nobody stored.

  Input:
    KEYS[1] the group's records feed (sorted set: seq -> version JSON)
    KEYS[2] record heads hash (record id -> head version id)
    KEYS[3] versions hash (version id -> '<seq> <fingerprint>')
    KEYS[4] pointers hash (pointer id -> version id)
    KEYS[5] the feed's archive hash (field 'through': last archived seq)

    ARGV[1] the watermark the caller read ('0' when none)
    ARGV[2] the new watermark (the last seq of the page it stored)
    ARGV[3] how many versions of the page's range the stored page holds (what the caller read)
    ARGV[4] the page's archive index state ('<gen> <count>', field 'p:<first>'; '' when full)

  Output:
    n >= 0 - moved: n versions left Redis
    -1 - the watermark is no longer ARGV[1] (another compactor moved it): nothing changed
    -2 - the range no longer holds ARGV[3] versions (retention removed some): nothing changed
]]
local through = redis.call('HGET', KEYS[5], 'through') or '0'
if through ~= ARGV[1] then return -1 end
local first = tonumber(ARGV[1]) + 1
if redis.call('ZCOUNT', KEYS[1], first, ARGV[2]) ~= tonumber(ARGV[3]) then return -2 end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], 'p:' .. first, ARGV[4]) end
local removed = 0
-- Earlier pages' heads are rescanned too: a head superseded since then leaves now.
for _, json in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])) do
  local v = cjson.decode(json)
  if redis.call('HGET', KEYS[2], v.recordId) ~= v.versionId then
    redis.call('ZREM', KEYS[1], json)
    redis.call('HDEL', KEYS[3], v.versionId)
    redis.call('HDEL', KEYS[4], v.pointerId)
    removed = removed + 1
  end
end
redis.call('HSET', KEYS[5], 'through', ARGV[2])
return removed
