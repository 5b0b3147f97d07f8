-- save_load.lua: train a small model, save its state_dict as safetensors,
-- load it into a fresh model, and check the predictions are the same.
--   lua5.4 examples/save_load.lua [path]
local tg = require "tgrad"
local nn, F = tg.nn, tg.F

local path = arg[1] or os.tmpname()
tg.manual_seed(0)

local function make_model()
  return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
end

-- train on a toy task: which of the first three inputs is largest
local x = tg.randn(256, 4)
local _, y = x:narrow(2, 1, 3):max(2)
local model = make_model()
local opt = tg.optim.Adam(model:parameters(), {lr = 0.02})
for _ = 1, 100 do
  opt:zero_grad()
  local loss = F.cross_entropy(model(x), y)
  loss:backward()
  opt:step()
end
model:eval()
local before = tg.no_grad(function() return model(x) end)

tg.save(path, model:state_dict(), {note = "save_load example"})
local sd, meta = tg.load(path)
local fresh = make_model()
fresh:load_state_dict(sd)          -- strict: every key must match
fresh:eval()
local after = tg.no_grad(function() return fresh(x) end)

local diff = (after - before):abs():max():item()
local acc = before:argmax(2):eq(y):double():mean():item()
print(("saved %s (note: %s); accuracy %.1f%%; max |difference| after loading: %g"):format(
  path, meta.note, 100 * acc, diff))
if not arg[1] then os.remove(path) end
if diff ~= 0 then
  io.stderr:write("save_load: predictions differ after loading\n")
  os.exit(1)
end
