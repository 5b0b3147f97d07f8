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
    local state, rmsprop, zeros = self.state, C.rmsprop, Optimizer._zeros
    for _, p in ipairs(g.params) do
      if p.grad ~= nil then
        local s = state[p]
        if not s or next(s) == nil then
          s = {step = 0, square_avg = zeros(p)}
          if mom > 0 then s.momentum_buffer = zeros(p) end
          if centered then s.grad_avg = zeros(p) end
          state[p] = s
        end
        s.step = s.step + 1
        rmsprop(p, s.square_avg, s.momentum_buffer, s.grad_avg, lr, alpha, eps, wd, mom, centered, maximize)
      end
    end
  end

  return RMSprop
end
