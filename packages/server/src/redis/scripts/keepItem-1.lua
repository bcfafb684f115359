--[[
  Keeps the published Sync item's JSON with a pending pointer (the healing pass re-publishes it
  from here when its Sync item or map is gone).

  Input:
    KEYS[1] pointer hash

    ARGV[1] the published Sync item's JSON

  Output:
    1 - kept
    0 - the pointer is not pending (nothing kept)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'item', ARGV[1])
return 1
