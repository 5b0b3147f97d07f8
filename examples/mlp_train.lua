-- mlp_train.lua: an MLP (tg.nn + tg.optim + DataLoader) learns the two-spirals
-- task, with a progress bar on stderr and the loss/accuracy curves as an SVG.
--   lua5.4 examples/mlp_train.lua [--quick] [curve.svg]
-- Exits non-zero unless the test accuracy reaches 95% (--quick: a smaller run
-- that make test uses, still held to 95%).
local tg = require "tgrad"
local nn, F, data = tg.nn, tg.F, tg.utils.data

local quick = arg[1] == "--quick"
local svg = arg[quick and 2 or 1] or "mlp_curve.svg"
tg.manual_seed(0)

-- two interleaved spirals, class 1 and 2 (class ids are 1-based in tgrad)
local function spirals(n)
  local t = tg.rand(n):mul(3 * math.pi):add(0.5)              -- angle along the arm
  local cls = tg.randint(1, 3, {n})                            -- 1 or 2
  local sign = cls:double():mul(2):sub(3):float()              -- -1 or +1
  local r = t / (3.5 * math.pi)
  local x = tg.stack({r * t:cos() * sign, r * t:sin() * sign}, 2)
  return x + tg.randn(n, 2):mul(0.02), cls
end

local ntrain = quick and 1200 or 4000
local xtr, ytr = spirals(ntrain)
local xte, yte = spirals(1000)
local loader = data.DataLoader(data.TensorDataset(xtr, ytr), {batch_size = 64, shuffle = true})

local model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                            nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
local opt = tg.optim.Adam(model:parameters(), {lr = 0.01})
local epochs = quick and 40 or 60
local sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = epochs})
print(model)

local function accuracy(x, y)
  model:eval()
  local pred = tg.no_grad(function() return model(x):argmax(2) end)
  model:train()
  return pred:eq(y):double():mean():item()
end

local losses, accs = {}, {}
local bar = tg.utils.progress(epochs, {desc = "spirals"})
for epoch = 1, epochs do
  local sum, n = 0, 0
  for xb, yb in loader:iter() do
    opt:zero_grad()
    local loss = F.cross_entropy(model(xb), yb)
    loss:backward()
    opt:step()
    sum, n = sum + loss:item(), n + 1
  end
  sched:step()
  losses[epoch], accs[epoch] = sum / n, accuracy(xte, yte)
  bar:update(1, {loss = losses[epoch], acc = accs[epoch]})
end
bar:close()

tg.viz.plot({loss = losses, accuracy = accs}, svg, {title = "two spirals: MLP 2-64-64-64-2", xlabel = "epoch"})
local acc = accs[epochs]
print(("test accuracy %.1f%% after %d epochs; curves in %s"):format(100 * acc, epochs, svg))
if acc < 0.95 then
  io.stderr:write("mlp_train: accuracy below 95%\n")
  os.exit(1)
end
