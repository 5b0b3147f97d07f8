-- cnn_train.lua: a small CNN (Conv2d, BatchNorm2d, MaxPool2d, Dropout) learns a
-- synthetic image task it generates: 16x16 images holding one bar, horizontal
-- or vertical (or a cross / a box), at a random place, with noise. Four classes.
--   lua5.4 examples/cnn_train.lua [--quick]
-- Exits non-zero unless the test accuracy reaches 95%.
local tg = require "tgrad"
local nn, F, data = tg.nn, tg.F, tg.utils.data

local quick = arg[1] == "--quick"
tg.manual_seed(1)
local S = 16
local CLASSES = {"horizontal bar", "vertical bar", "cross", "box"}

-- images (n, 1, S, S) and their 1-based classes
local function make_images(n)
  local x = tg.randn(n, 1, S, S):mul(0.3)
  local y = tg.randint(1, 5, {n})
  local cls = y:tolist()
  for i = 1, n do
    local r, c = math.random(3, S - 2), math.random(3, S - 2)
    local img = x[i][1]
    local k = cls[i]
    if k == 1 or k == 3 then img[{r, {math.max(1, c - 4), math.min(S, c + 4)}}] = 1.5 end
    if k == 2 or k == 3 then img[{{math.max(1, r - 4), math.min(S, r + 4)}, c}] = 1.5 end
    if k == 4 then
      img[{{r - 2, r + 2}, c - 2}] = 1.5; img[{{r - 2, r + 2}, c + 2}] = 1.5
      img[{r - 2, {c - 2, c + 2}}] = 1.5; img[{r + 2, {c - 2, c + 2}}] = 1.5
    end
  end
  return x, y
end
math.randomseed(7)

local xtr, ytr = make_images(quick and 800 or 2000)
local xte, yte = make_images(400)
local loader = data.DataLoader(data.TensorDataset(xtr, ytr), {batch_size = 32, shuffle = true, drop_last = true})

local Net = nn.Module:extend("Net")
function Net:__init()
  self.features = nn.Sequential(
    nn.Conv2d(1, 16, 3, {padding = 1}), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   -- 16 x 8 x 8
    nn.Conv2d(16, 32, 3, {padding = 1}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))  -- 32 x 4 x 4
  self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, #CLASSES))
end
function Net:forward(x) return self.classifier(self.features(x)) end

local model = Net()
print(model)
local opt = tg.optim.SGD(model:parameters(), {lr = 0.05, momentum = 0.9, weight_decay = 1e-4})

local function accuracy(x, y)
  model:eval()
  local pred = tg.no_grad(function() return model(x):argmax(2) end)
  model:train()
  return pred:eq(y):double():mean():item()
end

local epochs = quick and 5 or 8
for epoch = 1, epochs do
  local bar = tg.utils.progress(#loader, {desc = "epoch " .. epoch})
  for xb, yb in loader:iter() do
    opt:zero_grad()
    local loss = F.cross_entropy(model(xb), yb)
    loss:backward()
    opt:step()
    bar:update(1, {loss = loss:item()})
  end
  bar:close()
  print(("epoch %d: test accuracy %.1f%%"):format(epoch, 100 * accuracy(xte, yte)))
end
local acc = accuracy(xte, yte)
if acc < 0.95 then
  io.stderr:write(("cnn_train: accuracy %.3f below 95%%\n"):format(acc))
  os.exit(1)
end
