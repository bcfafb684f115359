--[[
  Records one endpoint's anomaly report about a pointer: one per pointer per endpoint, within the
  reporter's budget per window (a member must not be able to flood the audit log).

  Input:
    KEYS[1] the pointer's anomalies hash
    KEYS[2] the reporter's budget counter

    ARGV[1] reporter endpoint key
    ARGV[2] entry JSON
    ARGV[3] budget (reports per window)
    ARGV[4] window seconds
    ARGV[5] retention seconds (the anomalies hash lives as long as the ledger entry)

  Output:
    1 - recorded
    0 - already reported by this endpoint
    -1 - over budget
]]
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
if used > tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
