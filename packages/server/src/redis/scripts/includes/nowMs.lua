--[[
  now_ms(): Redis's clock in milliseconds, so every process shares one time base.
]]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
