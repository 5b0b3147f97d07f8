-- Per-op cost probe (foundation issue): where the microseconds of the seed
-- loop go, on 5x3 tensors. µs per iteration, each variant on its own.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local bce = tg.nn.functional.binary_cross_entropy_with_logits

local a, c = tg.randn(5), tg.randn(5)
local x, y = tg.ones(5), tg.zeros(3)
local w = tg.randn(5, 3, {requires_grad = true})
local b = tg.randn(3, {requires_grad = true})
local wd, bd = w:detach(), b:detach()

local probes = {
  {"lua_table", function() return {} end},        -- Lua's own floor: one allocation
  {"add_5", function() return a + c end},         -- one tiny allocating op
  {"matmul_5x3_nograd", function() return x:matmul(wd) end},
  {"fwd_nograd", function() return bce(x:matmul(wd) + bd, y) end},
  {"fwd", function() return bce(x:matmul(w) + b, y) end}, -- graph built, dropped
  {"fwd_bwd", function()
    local loss = bce(x:matmul(w) + b, y)
    loss:backward()
    w.grad, b.grad = nil, nil
  end},
}
for _, p in ipairs(probes) do
  local ok, err = pcall(function()
    B.result("per_op", p[1], 1e6 * B.measure(p[2], {iters = 10000, reps = 5}), "us")
  end)
  if not ok then io.stderr:write(p[1], ": ", tostring(err), "\n") end
end
