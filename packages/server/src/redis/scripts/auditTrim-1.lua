--[[
  Takes sealed items off a shard's audit pending list: the first n, only if they are still the
  ones given (another sealer may have taken them already; then nothing changes).

  Input:
    KEYS[1] the shard's audit pending list

    ARGV[1...] the items, oldest first

  Output:
    1 - taken off
    0 - the list no longer starts with them (nothing changes)
]]
local n = #ARGV
local first = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #first ~= n then return 0 end
for i = 1, n do
  if first[i] ~= ARGV[i] then return 0 end
end
redis.call('LTRIM', KEYS[1], n, -1)
return 1
