--[[
  Withdraws a file: the pointer moves to the terminal state 'withdrawn' (from pending, purging,
  purged, failed or expired) together with its `file-withdrawn` audit entry, exactly once. It leaves
  the pending and purging indexes, loses its kept Sync item copy (nothing re-publishes it), and its
  id goes to the outbox so the purge worker deletes the Sync item if the caller's own delete fails.
  The entry names who had received the file: the caller read the acknowledged set, and a changed
  count (an ack landed meanwhile) refuses so the caller re-reads.

  Input:
    KEYS[1] pointer hash
    KEYS[2] acknowledged endpoints set
    KEYS[3] pending pointers index (sorted set)
    KEYS[4] the group's pending pointers index (sorted set)
    KEYS[5] purging pointers index (sorted set)
    KEYS[6] outbox list
    KEYS[7] audit pending list

    ARGV[1] pointer id
    ARGV[2] group id
    ARGV[3] withdrawnAt (ISO)
    ARGV[4] withdrawn by (identity)
    ARGV[5] acknowledged endpoints the caller read (count)
    ARGV[6] pending audit item (the file-withdrawn entry)

  Output:
    1 - withdrawn now
    0 - already withdrawn (nothing changes)
    -1 - no such pointer (or another group's)
    -2 - the acknowledged set changed since the caller read it (nothing changes)
]]
if redis.call('HGET', KEYS[1], 'groupId') ~= ARGV[2] then return -1 end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'withdrawn' then return 0 end
if redis.call('SCARD', KEYS[2]) ~= tonumber(ARGV[5]) then return -2 end
redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'withdrawnAt', ARGV[3], 'withdrawnBy', ARGV[4])
redis.call('HDEL', KEYS[1], 'item')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
-- Purged and expired pointers have no Sync item left; the others may.
if state ~= 'purged' and state ~= 'expired' then redis.call('LPUSH', KEYS[6], ARGV[1]) end
redis.call('RPUSH', KEYS[7], ARGV[6])
return 1
