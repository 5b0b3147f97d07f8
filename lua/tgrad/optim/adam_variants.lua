-- tgrad.optim.adam_variants: tg.optim.Adamax, NAdam and RAdam (PyTorch's), and
-- Rprop and ASGD; each step one fused C call per parameter (tg._optim.adamax /
-- nadam / radam / rprop / asgd).
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local function check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.eps >= 0) then error("Invalid epsilon value: " .. fmt(d.eps)) end
    local b = d.betas
    if type(b[1]) ~= "number" or type(b[2]) ~= "number" then
      error("betas must be a table of two numbers {beta1, beta2}")
    end
    if not (b[1] >= 0 and b[1] < 1) then error("Invalid beta parameter at index 0: " .. fmt(b[1])) end
    if not (b[2] >= 0 and b[2] < 1) then error("Invalid beta parameter at index 1: " .. fmt(b[2])) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
    if d.momentum_decay ~= nil and not (d.momentum_decay >= 0) then
      error("Invalid momentum_decay value: " .. fmt(d.momentum_decay))
    end
  end

  local function moments(a, b)
    return function(p) return {[a] = Optimizer._zeros(p), [b] = Optimizer._zeros(p)} end
  end

  ---------------------------------------------------------------- Adamax
  local Adamax = Optimizer:extend("Adamax", {
    lr = 2e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, maximize = false,
  })
  Adamax._check = check
  function Adamax:_step_group(g)
    local lr, eps, wd, b1, b2 = g.lr, g.eps, g.weight_decay, g.betas[1], g.betas[2]
    local maximize = g.maximize and true or false
    local adamax = C.adamax
    self:_each(g, "exp_avg", moments("exp_avg", "exp_inf"), function(p, s, step)
      return adamax(p, s.exp_avg, s.exp_inf, step, lr, b1, b2, eps, wd, maximize)
    end)
  end

  ---------------------------------------------------------------- NAdam
  local NAdam = Optimizer:extend("NAdam", {
    lr = 2e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, momentum_decay = 4e-3,
    decoupled_weight_decay = false, maximize = false,
  })
  NAdam._check = check
  function NAdam:_step_group(g)
    local lr, eps, wd, b1, b2, md = g.lr, g.eps, g.weight_decay, g.betas[1], g.betas[2], g.momentum_decay
    local decoupled, maximize = g.decoupled_weight_decay and true or false, g.maximize and true or false
    local nadam, init = C.nadam, moments("exp_avg", "exp_avg_sq")
    self:_each(g, "exp_avg", function(p)
      local s = init(p)
      s.mu_product = 1.0
      return s
    end, function(p, s, step)
      local ok, mu_product = nadam(p, s.exp_avg, s.exp_avg_sq, step, s.mu_product, lr, b1, b2, eps, wd, md,
        decoupled, maximize)
      if ok then
        s.mu_product = mu_product
        local cs = tg._capture_states -- capture: a replay sets mu_product from its record
        local tag = cs and tg._capture_tag()
        if tag then cs[#cs + 1] = {s, tag} end
      end
      return ok
    end)
  end

  ---------------------------------------------------------------- RAdam
  local RAdam = Optimizer:extend("RAdam", {
    lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, decoupled_weight_decay = false, maximize = false,
  })
  RAdam._check = check
  function RAdam:_step_group(g)
    local lr, eps, wd, b1, b2 = g.lr, g.eps, g.weight_decay, g.betas[1], g.betas[2]
    local decoupled, maximize = g.decoupled_weight_decay and true or false, g.maximize and true or false
    local radam = C.radam
    self:_each(g, "exp_avg", moments("exp_avg", "exp_avg_sq"), function(p, s, step)
      return radam(p, s.exp_avg, s.exp_avg_sq, step, lr, b1, b2, eps, wd, decoupled, maximize)
    end)
  end

  ---------------------------------------------------------------- Rprop
  local Rprop = Optimizer:extend("Rprop", {lr = 1e-2, etas = {0.5, 1.2}, step_sizes = {1e-6, 50}, maximize = false})
  function Rprop._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    local e = d.etas
    if type(e[1]) ~= "number" or type(e[2]) ~= "number" or not (0.0 < e[1] and e[1] < 1.0 and 1.0 < e[2]) then
      error(("Invalid eta values: %s, %s"):format(fmt(e[1]), fmt(e[2])))
    end
  end
  function Rprop:_step_group(g)
    local em, ep = g.etas[1], g.etas[2]
    local smin, smax = g.step_sizes[1], g.step_sizes[2]
    local maximize, lr = g.maximize and true or false, g.lr
    local rprop = C.rprop
    self:_each(g, "prev", function(p)
      return {prev = Optimizer._zeros(p), step_size = Optimizer._zeros(p, lr)}
    end, function(p, s)
      return rprop(p, s.prev, s.step_size, em, ep, smin, smax, maximize)
    end)
  end

  ---------------------------------------------------------------- ASGD
  local ASGD = Optimizer:extend("ASGD", {lr = 1e-2, lambd = 1e-4, alpha = 0.75, t0 = 1e6, weight_decay = 0,
    maximize = false})
  function ASGD._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.lambd >= 0) then error("Invalid lambd value: " .. fmt(d.lambd)) end
    if not (d.alpha >= 0) then error("Invalid alpha value: " .. fmt(d.alpha)) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
  end
  function ASGD:_step_group(g)
    local lr, lambd, alpha, t0, wd = g.lr, g.lambd, g.alpha, g.t0, g.weight_decay
    local maximize = g.maximize and true or false
    local asgd = C.asgd
    self:_each(g, "ax", function(p)
      return {eta = lr, mu = 1.0, ax = Optimizer._zeros(p)}
    end, function(p, s, step)
      if not asgd(p, s.ax, s.eta, s.mu, lambd, wd, maximize) then return false end
      s.eta = lr / ((1 + lambd * lr * step) ^ alpha)
      s.mu = 1 / math.max(1, step - t0)
      return true
    end)
  end

  return Adamax, NAdam, RAdam, Rprop, ASGD
end
