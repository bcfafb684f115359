--[[
  Adds members to a ready group unless the participants would exceed the limit. The limit check
  and the adds are one step, so concurrent adds cannot pass it together. Each identity's group
  index lives in the identity's own slot: the caller writes it (before and after this step).

  Input:
    KEYS[1] group hash
    KEYS[2] group members set

    ARGV[1] participant limit (owner included)
    ARGV[2...] identities

  Output:
    {1, added...} - added; the identities that were not members yet follow
    {-1} - the limit would be exceeded (nothing changes)
    {-2} - the group is not ready (nothing changes)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'ready' then return {-2} end
local new = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then new[#new + 1] = ARGV[i] end
end
if redis.call('SCARD', KEYS[2]) + #new > tonumber(ARGV[1]) then return {-1} end
for _, identity in ipairs(new) do
  redis.call('SADD', KEYS[2], identity)
end
return {1, unpack(new)}
