-- optim_tour.lua: tg.optim and tg.optim.lr_scheduler as a PyTorch user writes them.
--   1. a small regression fitted by SGD (momentum, nesterov) with a StepLR schedule,
--      and by Adam with OneCycleLR, each step one fused C kernel per parameter;
--   2. the Rosenbrock function minimised by LBFGS with a strong Wolfe line search;
--   3. a checkpoint (state_dict) taken midway and resumed in a fresh optimizer.
-- Exits non-zero when a result is off (run by make test).
--   LUA_CPATH="$PWD/?.so;;" lua5.4 examples/optim_tour.lua
local tg = require "tgrad"
tg.manual_seed(0)

local function check(cond, what)
  if not cond then
    io.stderr:write("optim_tour: FAILED: " .. what .. "\n")
    os.exit(1)
  end
end

---------------------------------------------------------------- 1. regression
-- y = tanh(x W_true) + noise; the model: tanh(x W + b)
local x = tg.randn(256, 5)
local w_true = tg.randn(5, 2)
local y = tg.tanh(x:matmul(w_true)) + 0.01 * tg.randn(256, 2)

local function fit(make_opt, make_sched, epochs)
  local W = tg.zeros(5, 2, {requires_grad = true})
  local b = tg.zeros(2, {requires_grad = true})
  local opt = make_opt({W, b})
  local sched = make_sched and make_sched(opt)
  local loss
  for _ = 1, epochs do
    opt:zero_grad()
    loss = ((tg.tanh(x:matmul(W) + b) - y) ^ 2):mean()
    loss:backward()
    opt:step()
    if sched then sched:step() end
  end
  return loss:item(), opt, sched
end

local sgd_loss = fit(function(ps) return tg.optim.SGD(ps, {lr = 0.5, momentum = 0.9, nesterov = true}) end,
  function(opt) return tg.optim.lr_scheduler.StepLR(opt, 100, {gamma = 0.5}) end, 300)
print(("SGD (nesterov) + StepLR:  loss %.6f"):format(sgd_loss))
check(sgd_loss < 1e-3, "SGD did not fit")

local adam_loss, _, sched = fit(function(ps) return tg.optim.Adam(ps, {lr = 0.05}) end,
  function(opt) return tg.optim.lr_scheduler.OneCycleLR(opt, 0.1, {total_steps = 300}) end, 300)
print(("Adam + OneCycleLR:        loss %.6f (last lr %.3g)"):format(adam_loss, sched:get_last_lr()[1]))
check(adam_loss < 1e-3, "Adam did not fit")

---------------------------------------------------------------- 2. LBFGS on Rosenbrock
local xy = tg.tensor({-1.5, 2.0}, {dtype = tg.float64, requires_grad = true})
local lbfgs = tg.optim.LBFGS({xy}, {line_search_fn = "strong_wolfe", max_iter = 50})
local function rosenbrock()
  lbfgs:zero_grad()
  local a, c = xy[1], xy[2]
  local f = (1 - a) ^ 2 + 100 * (c - a ^ 2) ^ 2
  f:backward()
  return f
end
for _ = 1, 5 do lbfgs:step(rosenbrock) end
local st = lbfgs.state[xy]
print(("LBFGS (strong Wolfe):     minimum at (%.6f, %.6f) after %d evaluations")
  :format(xy[1]:item(), xy[2]:item(), st.func_evals))
check(math.abs(xy[1]:item() - 1) < 1e-5 and math.abs(xy[2]:item() - 1) < 1e-5, "LBFGS missed the minimum")

---------------------------------------------------------------- 3. checkpoint and resume
local W1 = tg.zeros(5, 2, {requires_grad = true})
local opt1 = tg.optim.AdamW({W1}, {lr = 0.05, amsgrad = true})
local function step(W, opt)
  opt:zero_grad()
  local loss = ((tg.tanh(x:matmul(W)) - y) ^ 2):mean()
  loss:backward()
  opt:step()
end
for _ = 1, 20 do step(W1, opt1) end
local checkpoint = {weights = W1:detach():clone(), optim = opt1:state_dict()}
local W2 = checkpoint.weights:clone():requires_grad_(true)
local opt2 = tg.optim.AdamW({W2}, {lr = 0.05, amsgrad = true})
opt2:load_state_dict(checkpoint.optim)
for _ = 1, 20 do
  step(W1, opt1)
  step(W2, opt2)
end
local diff = (W1 - W2):abs():max():item()
print(("resumed AdamW:            max difference to the uninterrupted run %g"):format(diff))
check(diff == 0, "the resumed run differs")
print(tostring(opt2))
