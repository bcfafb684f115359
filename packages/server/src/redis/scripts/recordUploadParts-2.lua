--[[
  Records the sizes of freshly presigned upload parts. The new sizes replace earlier ones for the
  same part numbers; the whole batch is refused if the resulting sum would exceed the declared
  size, so recorded sizes never describe an impossible object.

  Input:
    KEYS[1] upload record hash
    KEYS[2] upload parts hash (part number -> size)

    ARGV[1] declared size
    ARGV[2...] part number / size pairs

  Output:
    1 - recorded
    -1 - the upload is not open (nothing changes)
    -2 - the sum would exceed the declared size (nothing changes)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return -1 end
local total = tonumber(redis.call('HGET', KEYS[1], 'partsTotal') or '0')
local size = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[2], ARGV[i])
  if old then total = total - tonumber(old) end
  total = total + tonumber(ARGV[i + 1])
end
if total > size then return -2 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'partsTotal', total)
return 1
