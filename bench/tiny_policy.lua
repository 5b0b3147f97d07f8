-- Workload 2: tiny policy step, MLP 4-32-32-2, batch 1, cross-entropy, SGD.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local mlp = require "mlp"
local tg = require "tgrad"
B.setup(tg)

local params = mlp.new(tg, {4, 32, 32, 2})
local x = tg.randn(1, 4)
local target = mlp.targets(tg, 1, 2)
local t = B.measure(function() mlp.step(tg, params, x, target, 0.01) end,
                    {iters = 5000, reps = 5})
B.result("tiny_policy", "hand_sgd", 1e6 * t, "us")

local step = mlp.nn_optim(tg, {4, 32, 32, 2}, 0.01)
t = B.measure(function() step(x, target) end, {iters = 5000, reps = 5})
B.result("tiny_policy", "nn_optim", 1e6 * t, "us")
-- capture: the hand SGD step captured once (tg.capture), then replayed (issue 11)
local cstep = tg.capture(function(xx, tt) return mlp.step(tg, params, xx, tt, 0.01) end, x, target)
t = B.measure(function() cstep(x, target) end, {iters = 5000, reps = 5})
B.result("tiny_policy", "captured", 1e6 * t, "us")
