--[[
  Appends a record version if its parent is the record's head. The head check, the seq and every
  index move together: one version per parent wins, and the feed never shows a seq whose version
  is not complete. A batch write pipelines one call per version (each atomic on its own). The
  pointer id is the version's idempotency id within the group: records never reach the ack ledger.
  A created version's envelope characters are added to its writer's share of the group's feed
  (what the writer's stored-bytes quota counted, given back when retention or a group deletion
  drops the versions).

  Input:
    KEYS[1] the group's records feed (sorted set: seq -> version JSON)
    KEYS[2] record heads hash (record id -> head version id)
    KEYS[3] versions hash (version id -> '<seq> <fingerprint>')
    KEYS[4] feed seq counter
    KEYS[5] pointers hash (pointer id -> version id)
    KEYS[6] the record's history list (seqs)
    KEYS[7] envelope characters per writer (hash identity -> characters)

    ARGV[1] record id
    ARGV[2] version id
    ARGV[3] parent version id ('' = create)
    ARGV[4] pointer id
    ARGV[5] fingerprint (hex)
    ARGV[6] version JSON without seq (starts with '{')
    ARGV[7] history bound
    ARGV[8] the writer's identity
    ARGV[9] the envelope's characters

  Output:
    {1, json} - created: the stored version JSON
    {2, json} - the same version was already stored: its JSON
    {0, head json or ''} - conflict: the parent is not the head ('' when the record has none)
    {-1} - the pointer id is taken by another version of the group
]]
--- @include "headOf"
local existing = redis.call('HGET', KEYS[3], ARGV[2])
if existing then
  local seq, fp = string.match(existing, '^(%d+) (%x+)$')
  if fp == ARGV[5] then return {2, at_seq(seq)} end
  return {0, head_of(ARGV[1]) or ''}
end
local head = redis.call('HGET', KEYS[2], ARGV[1])
if (head or '') ~= ARGV[3] then return {0, head_of(ARGV[1]) or ''} end
if redis.call('HEXISTS', KEYS[5], ARGV[4]) == 1 then return {-1} end
local seq = redis.call('INCR', KEYS[4])
local json = '{"seq":' .. seq .. ',' .. string.sub(ARGV[6], 2)
redis.call('ZADD', KEYS[1], seq, json)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], seq .. ' ' .. ARGV[5])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[2])
redis.call('RPUSH', KEYS[6], seq)
redis.call('LTRIM', KEYS[6], -tonumber(ARGV[7]), -1)
redis.call('HINCRBY', KEYS[7], ARGV[8], ARGV[9])
return {1, json}
