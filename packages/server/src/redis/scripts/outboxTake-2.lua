--[[
  Moves up to `max` pointer ids (oldest first) from the outbox to the processing list; stops at an
  empty outbox, so a quiet system pays for one LMOVE, not `max`.

  Input:
    KEYS[1] outbox list
    KEYS[2] outbox processing list

    ARGV[1] max

  Output:
    {pointerId...} - the ids moved (empty when none)
]]
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not id then break end
  out[i] = id
end
return out
