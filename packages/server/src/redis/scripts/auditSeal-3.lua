--[[
  Commits one sealing step: appends the planned record lines to the chain, moves the head and
  remembers the sealed items (by hash), only if the head is still the one the plan was built on. A
  commit that loses a race changes nothing. The items stay on their shard's pending list (another
  slot on a Redis Cluster) until auditTrim-1 takes them off; the sealed set is how a sealer that
  finds them there again (after a crash between the two steps) knows not to seal them twice.

  Input:
    KEYS[1] audit chain list (record baseSeq + 1 at index 0)
    KEYS[2] audit head hash (seq, hash; baseSeq, baseHash once retention dropped records)
    KEYS[3] sealed items (sorted set: item SHA-256 -> seq)

    ARGV[1] seq the plan was built on
    ARGV[2] head hash the plan was built on
    ARGV[3] item count n
    ARGV[4] new head hash
    ARGV[5] genesis hash (the head of an empty chain)
    ARGV[6] how many sealed item hashes to remember
    ARGV[7...] the n items' SHA-256, then their n record lines

  Output:
    seq > 0 - the new head seq
    -1 - another sealer got there first (nothing changes)
    -2 - the chain list and its head disagree (nothing changes)
]]
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash', 'baseSeq')
local seq = tonumber(head[1]) or 0
if seq ~= tonumber(ARGV[1]) or (head[2] or ARGV[5]) ~= ARGV[2] then return -1 end
-- Records up to baseSeq were dropped by retention (auditDropOldest-2.lua).
if redis.call('LLEN', KEYS[1]) ~= seq - (tonumber(head[3]) or 0) then return -2 end
local n = tonumber(ARGV[3])
if n < 1 then return -1 end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 7 + n, 6 + 2 * n))
for i = 1, n do redis.call('ZADD', KEYS[3], seq + i, ARGV[6 + i]) end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[6]) - 1)
redis.call('HSET', KEYS[2], 'seq', seq + n, 'hash', ARGV[4])
return seq + n
