--[[
  Records retention, phase 1 of a batch (lifecycle/records-retention.ts): removes expired versions
  of one group from Redis (feed, versions and pointers indexes, and a deleted record's head), marks
  their records' history lists for pruning, moves an archived page's entry in the archive index to
  its rewritten generation, and leaves the batch's intent (its S3 deletions and receipt, still
  owed) in the same step. Checked first, so nothing changes unless the whole batch applies: the
  watermark and the page's generation are what the caller read, every version of a tail batch is
  still in the feed, and no live head is ever removed.

  Input:
    KEYS[1] the group's records feed (sorted set: seq -> version JSON)
    KEYS[2] record heads hash (record id -> head version id)
    KEYS[3] versions hash (version id -> '<seq> <fingerprint>')
    KEYS[4] pointers hash (pointer id -> version id)
    KEYS[5] the feed's archive hash ('through', 'p:<first>' -> '<gen> <count>')
    KEYS[6] record ids whose history lists are to be pruned (set)
    KEYS[7] the group's retention intent (string)

    ARGV[1] the watermark the caller read ('0' when none)
    ARGV[2] the archived page's first seq, or '' for versions of the Redis tail
    ARGV[3] the page's state the caller read ('' when absent)
    ARGV[4] the page's new state ('<gen> <count>')
    ARGV[5] the intent (JSON)
    ARGV[6..] triples: seq, version id, record id

  Output:
    n >= 0 - applied: n versions left Redis (a page's versions mostly left it when archived)
    -1 - the watermark or the page's state moved: nothing changed (re-read)
    -2 - a version of the batch is no longer in the feed: nothing changed (re-read)
    -3 - an earlier batch's intent is still pending: nothing changed (finish it first)
    -4 - the batch names a record's live head: refused, nothing changed
]]
--- @include "atSeq"
if redis.call('EXISTS', KEYS[7]) == 1 then return -3 end
if (redis.call('HGET', KEYS[5], 'through') or '0') ~= ARGV[1] then return -1 end
local page = ARGV[2] ~= ''
if page and (redis.call('HGET', KEYS[5], 'p:' .. ARGV[2]) or '') ~= ARGV[3] then return -1 end
local found = {}
for i = 6, #ARGV, 3 do
  local json = at_seq(ARGV[i])
  if json then
    local v = cjson.decode(json)
    if v.versionId ~= ARGV[i + 1] then return -2 end
    if redis.call('HGET', KEYS[2], v.recordId) == v.versionId and v.deleted ~= true then return -4 end
    found[#found + 1] = {json, v}
  elseif not page then
    return -2
  end
end
for _, item in ipairs(found) do
  local json, v = item[1], item[2]
  redis.call('ZREM', KEYS[1], json)
  redis.call('HDEL', KEYS[3], v.versionId)
  redis.call('HDEL', KEYS[4], v.pointerId)
  if redis.call('HGET', KEYS[2], v.recordId) == v.versionId then redis.call('HDEL', KEYS[2], v.recordId) end
end
for i = 8, #ARGV, 3 do redis.call('SADD', KEYS[6], ARGV[i]) end
if page then redis.call('HSET', KEYS[5], 'p:' .. ARGV[2], ARGV[4]) end
redis.call('SET', KEYS[7], ARGV[5])
return #found
