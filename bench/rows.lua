-- Workload rows (issue 11, helper rows): row-wise kernels on float32, microseconds per call.
-- softmax / log_softmax over the last dim and over dim 2 of a 4-D tensor, forward and
-- forward+backward; layer_norm; cross_entropy with class indices; mse_loss and
-- binary_cross_entropy_with_logits. fwd_bwd: x.grad reset each call, backward of a sum
-- weighted by a fixed g (PyTorch's twin does the same).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local F = tg.nn.functional

local function row(name, fn)
  local ok, err = pcall(function() B.result("rows", name, B.measure(fn) * 1e6, "us") end)
  if not ok then io.stderr:write(name, ": ", tostring(err), "\n") end
end

local function fwd_bwd(x, g, f)
  return function()
    x.grad = nil
    f(x):backward(g)
  end
end

-- softmax family over the last dim, then a non-last dim (dim 2 of 32x64x16x16)
local cases = {{"64x1000", {64, 1000}, -1}, {"1000x1000", {1000, 1000}, -1}, {"256x32", {256, 32}, -1},
               {"d2_32x64x16x16", {32, 64, 16, 16}, 2}}
for _, cs in ipairs(cases) do
  local tag, shape, dim = cs[1], cs[2], cs[3]
  local x = tg.randn(shape)
  local xg, g = tg.randn(shape):requires_grad_(), tg.randn(shape)
  for _, op in ipairs({"softmax", "log_softmax"}) do
    local f = tg[op]
    row(op .. "_" .. tag, function() return f(x, dim) end)
    row(op .. "_fwd_bwd_" .. tag, fwd_bwd(xg, g, function(t) return f(t, dim) end))
  end
end

-- layer_norm over the last dim (768) with weight and bias
for _, n in ipairs({64, 4096}) do
  local tag = n .. "x768"
  local x = tg.randn({n, 768})
  local w, b = tg.randn({768}), tg.randn({768})
  row("layer_norm_" .. tag, function() return F.layer_norm(x, {768}, w, b) end)
  local xg, g = tg.randn({n, 768}):requires_grad_(), tg.randn({n, 768})
  local wg, bg = tg.randn({768}):requires_grad_(), tg.randn({768}):requires_grad_()
  row("layer_norm_fwd_bwd_" .. tag, function()
    xg.grad, wg.grad, bg.grad = nil, nil, nil
    F.layer_norm(xg, {768}, wg, bg):backward(g)
  end)
end

-- cross_entropy, 256 x 1000 logits, class indices (1-based in tgrad)
do
  local x = tg.randn({256, 1000}):requires_grad_()
  local t = tg.randint(1, 1001, {256})
  row("cross_entropy_256x1000", function() return F.cross_entropy(x, t) end)
  row("cross_entropy_fwd_bwd_256x1000", function()
    x.grad = nil
    F.cross_entropy(x, t):backward()
  end)
end

-- pointwise losses on 1e6, mean reduction
do
  local n = 1000000
  local x, y = tg.randn(n):requires_grad_(), tg.randn(n)
  local yb = tg.rand(n)
  row("mse_loss_1e6", function() return F.mse_loss(x, y) end)
  row("mse_loss_fwd_bwd_1e6", function()
    x.grad = nil
    F.mse_loss(x, y):backward()
  end)
  row("bce_logits_1e6", function() return F.binary_cross_entropy_with_logits(x, yb) end)
  row("bce_logits_fwd_bwd_1e6", function()
    x.grad = nil
    F.binary_cross_entropy_with_logits(x, yb):backward()
  end)
end
