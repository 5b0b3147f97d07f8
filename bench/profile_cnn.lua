-- Op-by-op profile of the nn_layers CNN train step (helper cnn): each forward piece,
-- each backward piece (tg.autograd.grad of a one-op graph, retained), zero_grad and
-- the SGD step; the PyTorch twin is bench/profile_cnn.py. Not part of run.sh.
-- Run: eval "$(make -s env)"; lua5.4 bench/profile_cnn.lua
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local nn, F = tg.nn, tg.F

local function T(name, fn)
  local t = B.measure(fn, {reps = 7, target = 0.15})
  print(string.format("%-22s %9.1f us", name, t * 1e6))
  return t
end

local c1, c2 = nn.Conv2d(1, 16, 3, {padding = 1}), nn.Conv2d(16, 32, 3, {padding = 1})
local fc = nn.Linear(32 * 7 * 7, 10)
local cnn = nn.Sequential(c1, nn.ReLU(), nn.MaxPool2d(2), c2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc)
local opt = tg.optim.SGD(cnn:parameters(), {lr = 0.01, momentum = 0.9})
local x, y = tg.randn(32, 1, 28, 28), tg.randint(1, 11, {32})

local function leaf(t) return t:detach():requires_grad_() end
-- forward inputs of each stage
local a1 = tg.no_grad(c1, x)
local r1 = tg.no_grad(F.relu, a1)
local p1 = tg.no_grad(F.max_pool2d, r1, 2)
local a2 = tg.no_grad(c2, p1)
local r2 = tg.no_grad(F.relu, a2)
local p2 = tg.no_grad(F.max_pool2d, r2, 2)
local fl = p2:reshape(32, 32 * 7 * 7)
local z = tg.no_grad(fc, fl)

local tot = 0
print("-- forward (grad mode on, graph built)")
tot = tot + T("conv1", function() return c1(x) end)
local la1 = leaf(a1)
tot = tot + T("relu1", function() return F.relu(la1) end)
local lr1 = leaf(r1)
tot = tot + T("pool1", function() return F.max_pool2d(lr1, 2) end)
local lp1 = leaf(p1)
tot = tot + T("conv2", function() return c2(lp1) end)
local la2 = leaf(a2)
tot = tot + T("relu2", function() return F.relu(la2) end)
local lr2 = leaf(r2)
tot = tot + T("pool2", function() return F.max_pool2d(lr2, 2) end)
local lp2 = leaf(p2)
tot = tot + T("flatten+linear", function() return fc(lp2:flatten(2)) end)
local lz = leaf(z)
tot = tot + T("cross_entropy", function() return F.cross_entropy(lz, y) end)
print(string.format("%-22s %9.1f us", "forward sum", tot * 1e6))

print("-- backward (autograd.grad of one op, graph retained)")
local btot = 0
local function BW(name, out, inputs)
  local g = tg.ones_like(out)
  btot = btot + T(name, function() return tg.autograd.grad({out}, inputs, {g}, {retain_graph = true}) end)
end
BW("cross_entropy", F.cross_entropy(lz, y), {lz})
BW("linear", fc(lp2:flatten(2)), {lp2, fc.weight, fc.bias})
BW("pool2", F.max_pool2d(lr2, 2), {lr2})
BW("relu2", F.relu(la2), {la2})
BW("conv2 (x,w,b)", c2(lp1), {lp1, c2.weight, c2.bias})
BW("pool1", F.max_pool2d(lr1, 2), {lr1})
BW("relu1", F.relu(la1), {la1})
BW("conv1 (w,b)", c1(x), {c1.weight, c1.bias})
print(string.format("%-22s %9.1f us", "backward sum", btot * 1e6))

print("-- step pieces")
local loss = F.cross_entropy(cnn(x), y)
loss:backward()
T("zero_grad", function() opt:zero_grad() end)
local function fill() for _, p in ipairs(cnn:parameters()) do p.grad = tg.ones_like(p) end end
fill()
T("opt:step", function() opt:step() end)
print("-- whole")
T("forward (graph)", function() return F.cross_entropy(cnn(x), y) end)
T("forward+backward", function() local l = F.cross_entropy(cnn(x), y); l:backward() end)
T("full step", function()
  opt:zero_grad()
  local l = F.cross_entropy(cnn(x), y)
  l:backward()
  opt:step()
end)
