-- tgrad.optim.adagrad: tg.optim.Adagrad (PyTorch's): lr_decay, weight_decay,
-- initial_accumulator_value, eps, maximize. The state of every parameter is
-- made at construction, as PyTorch's. One fused C step per parameter.
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local Adagrad = Optimizer:extend("Adagrad", {
    lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10, maximize = false,
  })

  function Adagrad._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.lr_decay >= 0) then error("Invalid lr_decay value: " .. fmt(d.lr_decay)) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
    if not (d.initial_accumulator_value >= 0) then
      error("Invalid initial_accumulator_value value: " .. fmt(d.initial_accumulator_value))
    end
    if not (d.eps >= 0) then error("Invalid epsilon value: " .. fmt(d.eps)) end
  end

  function Adagrad:_init_group_state(g)
    for _, p in ipairs(g.params) do
      local s = self.state[p]
      if not s or next(s) == nil then
        self.state[p] = {step = 0, sum = Optimizer._zeros(p, g.initial_accumulator_value)}
      end
    end
  end

  function Adagrad:_init()
    for _, g in ipairs(self.param_groups) do self:_init_group_state(g) end
  end

  function Adagrad:_step_group(g)
    local lr, lr_decay, wd, eps, maximize = g.lr, g.lr_decay, g.weight_decay, g.eps, g.maximize and true or false
    local adagrad, init = C.adagrad, g.initial_accumulator_value
    self:_each(g, "sum", function(p)
      return {sum = Optimizer._zeros(p, init)}
    end, function(p, s, step)
      return adagrad(p, s.sum, step, lr, lr_decay, wd, eps, maximize)
    end)
  end

  return Adagrad
end
