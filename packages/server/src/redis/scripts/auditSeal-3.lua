--[[
  Commits one sealing step: appends the planned record lines to the chain and removes exactly the
  sealed items from the pending list, only if the head is still the one the plan was built on and
  the items are still first in line. A commit that loses a race changes nothing.

  Input:
    KEYS[1] audit chain list
    KEYS[2] audit head hash (seq, hash)
    KEYS[3] audit pending list

    ARGV[1] seq the plan was built on
    ARGV[2] head hash the plan was built on
    ARGV[3] item count n
    ARGV[4] new head hash
    ARGV[5] genesis hash (the head of an empty chain)
    ARGV[6...] the n pending items as read, then their n record lines

  Output:
    seq > 0 - the new head seq
    -1 - another sealer got there first (nothing changes)
    -2 - the chain list and its head disagree (nothing changes)
]]
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash')
local seq = tonumber(head[1]) or 0
if seq ~= tonumber(ARGV[1]) or (head[2] or ARGV[5]) ~= ARGV[2] then return -1 end
if redis.call('LLEN', KEYS[1]) ~= seq then return -2 end
local n = tonumber(ARGV[3])
if n < 1 then return -1 end
local first = redis.call('LRANGE', KEYS[3], 0, n - 1)
if #first ~= n then return -1 end
for i = 1, n do
  if first[i] ~= ARGV[5 + i] then return -1 end
end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 6 + n, 5 + 2 * n))
redis.call('LTRIM', KEYS[3], n, -1)
redis.call('HSET', KEYS[2], 'seq', seq + n, 'hash', ARGV[4])
return seq + n
