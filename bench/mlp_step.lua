-- Workload 3: MLP 784-256-128-10, batch 64 and 256, cross-entropy, SGD.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local mlp = require "mlp"
local tg = require "tgrad"
B.setup(tg)

for _, batch in ipairs({64, 256}) do
  local params = mlp.new(tg, {784, 256, 128, 10})
  local x = tg.randn(batch, 784)
  local target = mlp.targets(tg, batch, 10)
  local t = B.measure(function() mlp.step(tg, params, x, target, 0.01) end)
  B.result("mlp_step", "b" .. batch, 1e6 * t, "us")
  -- capture: the same step captured once, then replayed (issue 11)
  local cstep = tg.capture(function(xx, tt) return mlp.step(tg, params, xx, tt, 0.01) end, x, target)
  t = B.measure(function() cstep(x, target) end)
  B.result("mlp_step", "b" .. batch .. "_captured", 1e6 * t, "us")
end

for _, batch in ipairs({64, 256}) do
  local step = mlp.nn_optim(tg, {784, 256, 128, 10}, 0.01)
  local x = tg.randn(batch, 784)
  local target = mlp.targets(tg, batch, 10)
  B.result("mlp_step", "b" .. batch .. "_nn_optim", 1e6 * B.measure(function() step(x, target) end), "us")
end
