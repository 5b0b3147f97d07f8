-- Per-op cost probe (issue 11, the per-op floor): where the microseconds of
-- the seed loop go, on 5x3 tensors, µs per call, each variant on its own,
-- next to the floor of a C call from Lua (bench/clock.c's empty C functions,
-- called the ways tgrad's ops are; PyTorch's side has Python's own floor).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local bce = tg.nn.functional.binary_cross_entropy_with_logits
local ok_clk, clk = pcall(require, "benchclock")

local a, c = tg.randn(5), tg.randn(5)
local ag = tg.randn(5, {requires_grad = true})
local x, y = tg.ones(5), tg.zeros(3)
local w = tg.randn(5, 3, {requires_grad = true})
local b = tg.randn(3, {requires_grad = true})
local wd, bd = w:detach(), b:detach()
w.grad = tg.ones(5, 3) -- for the .grad probe

local probes = {
  {"lua_table", function() return {} end},        -- Lua's own floor: one allocation
}
if ok_clk and clk.noop then
  local u, v, noop = clk.newbox(), clk.newbox(), clk.noop
  for _, p in ipairs {
    {"floor_fn", function() return noop(u, v) end},        -- an empty C function
    {"floor_method", function() return u:noop(v) end},     -- the same through a metatable's __index
    {"floor_add", function() return u + v end},            -- an empty __add metamethod of a userdata
    {"floor_alloc", function() return u:newbox() end},     -- a new userdata with metatable and __gc
  } do probes[#probes + 1] = p end
end
for _, p in ipairs {
  {"add_5", function() return a + c end},         -- one tiny allocating op
  {"add_5_grad", function() return ag + c end},   -- the same, recording a graph node
  {"add_method", function() return a:add(c) end},
  {"add_fn", function() return tg.add(a, c) end},
  {"mul_number", function() return a * 2.5 end},   -- a Lua number operand
  {"matmul_5x3_nograd", function() return x:matmul(wd) end},
  {"grad_get", function() return w.grad end},
  {"data_get", function() return w.data end},
  {"fwd_nograd", function() return bce(x:matmul(wd) + bd, y) end},
  {"fwd", function() return bce(x:matmul(w) + b, y) end}, -- graph built, dropped
  {"fwd_bwd", function()
    local loss = bce(x:matmul(w) + b, y)
    loss:backward()
    w.grad, b.grad = nil, nil
  end},
} do probes[#probes + 1] = p end
for _, p in ipairs(probes) do
  local ok, err = pcall(function()
    B.result("per_op", p[1], 1e6 * B.measure(p[2], {iters = 10000, reps = 5}), "us")
  end)
  if not ok then io.stderr:write(p[1], ": ", tostring(err), "\n") end
end
