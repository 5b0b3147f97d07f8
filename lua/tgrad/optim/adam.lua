-- tgrad.optim.adam: tg.optim.Adam and tg.optim.AdamW (PyTorch's): betas, eps,
-- weight_decay (L2, or decoupled for AdamW / decoupled_weight_decay = true),
-- amsgrad, maximize. One fused C step per parameter (tg._optim.adam).
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local function check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.eps >= 0) then error("Invalid epsilon value: " .. fmt(d.eps)) end
    local b = d.betas
    if type(b) ~= "table" or type(b[1]) ~= "number" or type(b[2]) ~= "number" then
      error("betas must be a table of two numbers {beta1, beta2}")
    end
    if not (b[1] >= 0 and b[1] < 1) then error("Invalid beta parameter at index 0: " .. fmt(b[1])) end
    if not (b[2] >= 0 and b[2] < 1) then error("Invalid beta parameter at index 1: " .. fmt(b[2])) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
  end

  local function step_group(self, g)
    local lr, eps, wd = g.lr, g.eps, g.weight_decay
    local beta1, beta2 = g.betas[1], g.betas[2]
    local amsgrad, maximize = g.amsgrad and true or false, g.maximize and true or false
    local decoupled = g.decoupled_weight_decay and true or false
    local adam, zeros = C.adam, Optimizer._zeros
    self:_each(g, "exp_avg", function(p)
      return {exp_avg = zeros(p), exp_avg_sq = zeros(p), max_exp_avg_sq = amsgrad and zeros(p) or nil}
    end, function(p, s, step)
      return adam(p, s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq, step, lr, beta1, beta2, eps, wd, amsgrad, maximize,
        decoupled)
    end)
  end

  local Adam = Optimizer:extend("Adam", {
    lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, amsgrad = false, maximize = false,
    decoupled_weight_decay = false,
  })
  Adam._check = check
  Adam._step_group = step_group

  -- AdamW: Adam with decoupled weight decay (and weight_decay 1e-2 by default)
  local AdamW = Optimizer:extend("AdamW", {
    lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2, amsgrad = false, maximize = false,
  })
  AdamW._check = check
  function AdamW:_step_group(g)
    g.decoupled_weight_decay = true
    return step_group(self, g)
  end
  function AdamW:_init()
    self.defaults.decoupled_weight_decay = true
    for _, g in ipairs(self.param_groups) do g.decoupled_weight_decay = true end
  end

  return Adam, AdamW
end
