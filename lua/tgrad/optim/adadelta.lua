-- tgrad.optim.adadelta: tg.optim.Adadelta (PyTorch's): lr, rho, eps,
-- weight_decay, maximize. One fused C step per parameter (tg._optim.adadelta).
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local Adadelta = Optimizer:extend("Adadelta", {
    lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0, maximize = false,
  })

  function Adadelta._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.rho >= 0 and d.rho <= 1) then error("Invalid rho value: " .. fmt(d.rho)) end
    if not (d.eps >= 0) then error("Invalid epsilon value: " .. fmt(d.eps)) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
  end

  function Adadelta:_step_group(g)
    local lr, rho, eps, wd, maximize = g.lr, g.rho, g.eps, g.weight_decay, g.maximize and true or false
    local adadelta, zeros = C.adadelta, Optimizer._zeros
    self:_each(g, "square_avg", function(p)
      return {square_avg = zeros(p), acc_delta = zeros(p)}
    end, function(p, s)
      return adadelta(p, s.square_avg, s.acc_delta, lr, rho, eps, wd, maximize)
    end)
  end

  return Adadelta
end
