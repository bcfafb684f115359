--[[
  Reserves a group id in state 'provisioning' with its participants (owner included).

  Input:
    KEYS[1] group hash
    KEYS[2] group members set

    ARGV[1] owner identity
    ARGV[2] createdAt (ISO)
    ARGV[3...] participants

  Output:
    1 - created
    0 - the group id is taken
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'createdAt', ARGV[2], 'state', 'provisioning')
for i = 3, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
