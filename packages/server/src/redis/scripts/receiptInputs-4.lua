--[[
  What a deletion receipt is built from, read in one step: the purge worker reads it next to its
  token-bucket take, before the Sync delete. Once a pointer has left 'pending', no script changes
  these fields or sets again, so reading them before the delete gives the receipt reading after
  would.

  Input:
    KEYS[1] pointer hash
    KEYS[2] expected endpoints set
    KEYS[3] acknowledged endpoints set
    KEYS[4] dropped endpoints set

  Output:
    {} - no such pointer
    {state, reason, createdAt, expected, acknowledged, dropped} - reason '' when unset; the sets as lists
]]
local h = redis.call('HMGET', KEYS[1], 'state', 'reason', 'createdAt')
if not h[1] then return {} end
return {
  h[1],
  h[2] or '',
  h[3] or '',
  redis.call('SMEMBERS', KEYS[2]),
  redis.call('SMEMBERS', KEYS[3]),
  redis.call('SMEMBERS', KEYS[4]),
}
