--[[
  Coalesces a group's feed notifications across every API process: at most one Sync write per
  interval (the lock), and a write wanted while the lock is held is remembered (pending) so that
  whoever takes the lock next writes a seq at least as new. The seq is read here, in the same
  step as taking the lock, so a write never carries a seq older than an append that asked for it.

  Input:
    KEYS[1] the group's notify lock (string, expires after one interval)
    KEYS[2] the group's pending flag (a write was wanted while the lock was held)
    KEYS[3] the group's feed seq counter

    ARGV[1] interval (ms): the lock's life
    ARGV[2] 'notify' after an append, 'trailing' when a process comes back for a pending write
    ARGV[3] the pending flag's life (ms): bounds a flag left by a process that died

  Output:
    {0, seq} - the lock is ours: write seq now
    {1, ms} - the lock is held: pending is set, ask again ('trailing') in ms
    {-1} - trailing, but a write since the flag was set already covers it: nothing to do
]]
if ARGV[2] == 'trailing' and redis.call('EXISTS', KEYS[2]) == 0 then return {-1} end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('DEL', KEYS[2])
  return {0, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return {1, math.max(1, redis.call('PTTL', KEYS[1]))}
