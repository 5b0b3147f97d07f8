-- Peak resident memory (VmHWM) of 1,000 training steps of the MLP 784-256-128-10 at
-- batch 64 (bench/mlp.lua: forward, cross-entropy, backward, SGD), in a fresh
-- process, no collectgarbage() in the loop: what the collector and the block cache
-- let tensor memory grow to (issue 11). Also the same steps inside tg.scope.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local mlp = require "mlp"
local tg = require "tgrad"
B.setup(tg)

local function vm(field)
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s+(%d+) kB")) / 1024
end

local mode = arg[1]
if mode == "all" or not arg[1] then -- one fresh process per variant: VmHWM never goes down
  local lua = "lua5.4"
  for _, m in ipairs({"plain", "scope"}) do
    local p = assert(io.popen(lua .. " " .. arg[0] .. " " .. m))
    io.write(p:read("a"))
    p:close()
  end
  return
end
local params = mlp.new(tg, {784, 256, 128, 10})
local x = tg.randn(64, 784)
local target = mlp.targets(tg, 64, 10)
local base = vm("VmRSS")
for _ = 1, 1000 do
  if mode == "scope" then
    tg.scope(function() mlp.step(tg, params, x, target, 0.01) end)
  else
    mlp.step(tg, params, x, target, 0.01)
  end
end
B.result("rss", "mlp_b64_1000_steps" .. (mode == "scope" and "_scope" or ""), vm("VmHWM"), "MB")
B.result("rss", "mlp_b64_growth" .. (mode == "scope" and "_scope" or ""), vm("VmHWM") - base, "MB")
