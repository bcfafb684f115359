--[[
  Compares and deletes a reserved name's bootstrap code atomically, so a code registers at most
  one account.

  Input:
    KEYS[1] bootstrap code key (holds the code's SHA-256)

    ARGV[1] SHA-256 (hex) of the offered code

  Output:
    1 - the code matched and is used up
    0 - no match (nothing changes)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
