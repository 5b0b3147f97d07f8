-- A hand-written MLP (ReLU) with plain SGD, using only tensors and autograd
-- (no tg.nn modules, no tg.optim). Shared by tiny_policy.lua and mlp_step.lua.
local M = {}

-- sizes = {4, 32, 32, 2}: weights (in, out) scaled by 1/sqrt(in), zero biases
function M.new(tg, sizes)
  local params = {}
  for i = 1, #sizes - 1 do
    local n_in, n_out = sizes[i], sizes[i + 1]
    params[#params + 1] = (tg.randn(n_in, n_out) * (1 / math.sqrt(n_in))):requires_grad_()
    params[#params + 1] = tg.zeros(n_out, {requires_grad = true})
  end
  return params
end

function M.forward(params, x)
  local h = x
  for i = 1, #params, 2 do
    h = h:matmul(params[i]) + params[i + 1]
    if i + 1 < #params then h = h:relu() end
  end
  return h
end

-- zero_grad + forward + loss + backward + SGD step
function M.step(tg, params, x, target, lr)
  for _, p in ipairs(params) do p.grad = nil end
  local loss = tg.nn.functional.cross_entropy(M.forward(params, x), target)
  loss:backward()
  for _, p in ipairs(params) do p.data:add_(p.grad * -lr) end
  return loss
end

-- n class indices, 1-based, in 1..k
function M.targets(tg, n, k)
  local t = {}
  for i = 1, n do t[i] = math.random(1, k) end
  return tg.tensor(t, {dtype = tg.int64})
end

-- the idiomatic version (the peer's nn_optim): nn.Sequential + optim.SGD;
-- returns step(x, target)
function M.nn_optim(tg, sizes, lr)
  local nn = tg.nn
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i + 1 < #sizes then layers[#layers + 1] = nn.ReLU() end
  end
  local model = nn.Sequential(table.unpack(layers))
  local opt = tg.optim.SGD(model:parameters(), {lr = lr})
  return function(x, target)
    opt:zero_grad()
    local loss = tg.nn.functional.cross_entropy(model(x), target)
    loss:backward()
    opt:step()
    return loss
  end
end

return M
