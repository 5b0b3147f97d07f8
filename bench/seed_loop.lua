-- Workload 1: the seed loop (overhead-bound). See bench/README.md.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local bce = tg.nn.functional.binary_cross_entropy_with_logits

-- fwd_bwd: the tensors exist; one iteration is the graph, backward, grad reset
local x, y = tg.ones(5), tg.zeros(3)
local w = tg.randn(5, 3, {requires_grad = true})
local b = tg.randn(3, {requires_grad = true})
local function step()
  local z = tg.matmul(x, w) + b
  local loss = bce(z, y)
  loss:backward()
  w.grad = nil
  b.grad = nil
end
B.result("seed_loop", "fwd_bwd", 1e6 * B.measure(step, {iters = 10000, reps = 5}), "us")

-- full: the whole seed program, tensor creation included
local function full()
  local x, y = tg.ones(5), tg.zeros(3)
  local w = tg.randn(5, 3, {requires_grad = true})
  local b = tg.randn(3, {requires_grad = true})
  local z = tg.matmul(x, w) + b
  local loss = bce(z, y)
  loss:backward()
end
B.result("seed_loop", "full", 1e6 * B.measure(full, {iters = 10000, reps = 5}), "us")
