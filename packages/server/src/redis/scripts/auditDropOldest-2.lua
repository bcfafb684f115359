--[[
  Audit log retention (lifecycle/audit-retention.ts): drops the chain's n oldest records, moves the
  anchor (the seq and hash of the last record dropped) and appends the `audit-trimmed` record that
  states it, all at once, only if the chain is still the one the caller read (head and anchor). The
  hashes are computed in Node; the check on the last dropped line makes sure the anchor's hash is
  the hash of the record it names. A sealer that commits in between makes this lose the race
  (nothing changes; the caller re-reads), and this makes that sealer's commit lose its race: the
  chain cannot fork.

  Input:
    KEYS[1] audit chain list (record baseSeq + 1 at index 0)
    KEYS[2] audit head hash (seq, hash, baseSeq, baseHash)

    ARGV[1] head seq read
    ARGV[2] head hash read
    ARGV[3] anchor seq read (baseSeq, 0 when nothing was ever dropped)
    ARGV[4] genesis hash (the head of an empty chain)
    ARGV[5] n, how many records to drop (>= 1)
    ARGV[6] the line of the last record to drop (record baseSeq + n)
    ARGV[7] its SHA-256: the new anchor hash
    ARGV[8] the audit-trimmed record line (seq head + 1, prev the head hash)
    ARGV[9] its SHA-256: the new head hash

  Output:
    seq > 0 - the new anchor seq
    -1 - the head or the anchor moved meanwhile (nothing changes)
    -2 - the chain list disagrees with its head, or the line is not the record named (nothing changes)
]]
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash', 'baseSeq')
local seq = tonumber(head[1]) or 0
local base = tonumber(head[3]) or 0
if seq ~= tonumber(ARGV[1]) or (head[2] or ARGV[4]) ~= ARGV[2] or base ~= tonumber(ARGV[3]) then return -1 end
local n = tonumber(ARGV[5])
if n < 1 or base + n > seq or redis.call('LLEN', KEYS[1]) ~= seq - base then return -2 end
if redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[6] then return -2 end
redis.call('LTRIM', KEYS[1], n, -1)
redis.call('RPUSH', KEYS[1], ARGV[8])
redis.call('HSET', KEYS[2], 'seq', seq + 1, 'hash', ARGV[9], 'baseSeq', base + n, 'baseHash', ARGV[7])
return base + n
