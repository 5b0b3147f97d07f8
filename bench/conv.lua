-- Workload conv (helper conv): F.conv2d forward, and forward + backward (input,
-- weight and bias gradients), float32, padding 1, ms per call. Shapes: the issue's
-- small CNN layer (batch 32, 16 -> 32 channels, 28x28, 3x3), a 14x14 and a 7x7
-- layer, and resnet18's stem (1x3x224x224, 7x7 stride 2). Run: bench/run.sh conv
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local F = tg.F

local cases = {
  {"n32_c16_28x28_k3", {32, 16, 28, 28}, {32, 16, 3, 3}, {padding = 1}},
  {"n32_c32_14x14_k3", {32, 32, 14, 14}, {64, 32, 3, 3}, {padding = 1}},
  {"n32_c64_7x7_k3", {32, 64, 7, 7}, {64, 64, 3, 3}, {padding = 1}},
  {"n1_c3_224x224_k7s2", {1, 3, 224, 224}, {64, 3, 7, 7}, {stride = 2, padding = 3}},
}
for _, c in ipairs(cases) do
  local name, xs, ws, opts = table.unpack(c)
  local x = tg.randn(xs, {requires_grad = true})
  local w = tg.randn(ws, {requires_grad = true})
  local b = tg.randn(ws[1], {requires_grad = true})
  local t = B.measure(function() return tg.no_grad(F.conv2d, x, w, b, opts) end, {reps = 5})
  B.result("conv", name .. "_fwd", t * 1e3, "ms")
  local g
  t = B.measure(function()
    local y = F.conv2d(x, w, b, opts)
    g = g or tg.ones_like(y)
    y:backward(g)
    x.grad, w.grad, b.grad = nil, nil, nil
  end, {reps = 5})
  B.result("conv", name .. "_fwd_bwd", t * 1e3, "ms")
end
