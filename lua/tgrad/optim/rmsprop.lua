-- tgrad.optim.rmsprop: tg.optim.RMSprop (PyTorch's): alpha, eps, weight_decay,
-- momentum, centered, maximize. One fused C step per parameter (tg._optim.rmsprop).
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local RMSprop = Optimizer:extend("RMSprop", {
    lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false, maximize = false,
  })

  function RMSprop._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if not (d.eps >= 0) then error("Invalid epsilon value: " .. fmt(d.eps)) end
    if not (d.momentum >= 0) then error("Invalid momentum value: " .. fmt(d.momentum)) end
    if not (d.weight_decay >= 0) then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
    if not (d.alpha >= 0) then error("Invalid alpha value: " .. fmt(d.alpha)) end
  end

  function RMSprop:_step_group(g)
    local lr, alpha, eps, wd, mom = g.lr, g.alpha, g.eps, g.weight_decay, g.momentum
    local centered, maximize = g.centered and true or false, g.maximize and true or false
    local rmsprop, zeros = C.rmsprop, Optimizer._zeros
    self:_each(g, "square_avg", function(p)
      return {square_avg = zeros(p), momentum_buffer = mom > 0 and zeros(p) or nil,
              grad_avg = centered and zeros(p) or nil}
    end, function(p, s)
      return rmsprop(p, s.square_avg, s.momentum_buffer, s.grad_avg, lr, alpha, eps, wd, mom, centered, maximize)
    end)
  end

  return RMSprop
end
