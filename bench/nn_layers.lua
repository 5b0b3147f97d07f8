-- Workload 3b/6/7 (nn): the MLP 784-256-128-10 step written with tg.nn +
-- tg.optim (batch 64, 256), a small CNN train step (two 3x3 conv layers,
-- batch 32, 1x28x28 input) and resnet18's forward on 1x3x224x224 (eval, no grad).
-- The PyTorch twin is bench/nn_layers.py; both build the same models.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local nn, F = tg.nn, tg.F

for _, batch in ipairs({64, 256}) do
  local model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
  local opt = tg.optim.SGD(model:parameters(), {lr = 0.01})
  local x, y = tg.randn(batch, 784), tg.randint(1, 11, {batch})
  local function step()
    opt:zero_grad()
    local loss = F.cross_entropy(model(x), y)
    loss:backward()
    opt:step()
  end
  B.result("nn_mlp", "b" .. batch, 1e6 * B.measure(step), "us")
end

local cnn = nn.Sequential(nn.Conv2d(1, 16, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
local opt = tg.optim.SGD(cnn:parameters(), {lr = 0.01, momentum = 0.9})
local x, y = tg.randn(32, 1, 28, 28), tg.randint(1, 11, {32})
local function cnn_step()
  opt:zero_grad()
  local loss = F.cross_entropy(cnn(x), y)
  loss:backward()
  opt:step()
end
B.result("nn_cnn", "b32_28x28", 1e3 * B.measure(cnn_step), "ms")

local net = tg.models.resnet18()
net:eval()
local img = tg.randn(1, 3, 224, 224)
do
  local g <close> = tg.no_grad()
  B.result("resnet18", "fwd_1x224", 1e3 * B.measure(function() return net(img) end, {reps = 5}), "ms")
end
