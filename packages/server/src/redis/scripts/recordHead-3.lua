--[[
  A record's head version.

  Input:
    KEYS[1] the group's records feed
    KEYS[2] record heads hash
    KEYS[3] versions hash

    ARGV[1] record id

  Output:
    json - the head version's JSON
    nil - the record has no head
]]
--- @include "headOf"
return head_of(ARGV[1])
