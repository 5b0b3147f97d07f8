-- tgrad.optim.sgd: tg.optim.SGD (PyTorch's torch.optim.SGD): momentum,
-- dampening, nesterov, weight_decay, maximize. One fused C step per parameter
-- (tg._optim.sgd, src/backend/cpu/cpu_optim.c).
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt
  local C = tg._optim

  local SGD = Optimizer:extend("SGD", {
    lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false, maximize = false,
  })

  function SGD._check(d)
    if d.lr < 0 then error("Invalid learning rate: " .. fmt(d.lr)) end
    if d.momentum < 0 then error("Invalid momentum value: " .. fmt(d.momentum)) end
    if d.weight_decay < 0 then error("Invalid weight_decay value: " .. fmt(d.weight_decay)) end
    if d.nesterov and (d.momentum <= 0 or d.dampening ~= 0) then
      error("Nesterov momentum requires a momentum and zero dampening")
    end
  end

  function SGD:_step_group(g)
    local lr, wd, mom, damp = g.lr, g.weight_decay, g.momentum, g.dampening
    local nesterov, maximize = g.nesterov and true or false, g.maximize and true or false
    if mom == 0 then -- tiny: no state, one C call for the whole group (the same updates)
      C.sgd_list(g.params, lr, wd, maximize)
      return
    end
    local state, sgd, has_grad = self.state, C.sgd, Optimizer._has_grad
    for _, p in ipairs(g.params) do
      if mom ~= 0 then
        local s = state[p]
        local buf = s and s.momentum_buffer
        if buf then
          sgd(p, buf, lr, wd, mom, damp, nesterov, maximize, false)
        elseif has_grad(p) then -- the first step: the buffer starts as the gradient
          if not s then
            s = {}
            state[p] = s
          end
          buf = Optimizer._zeros(p)
          s.momentum_buffer = buf
          sgd(p, buf, lr, wd, mom, damp, nesterov, maximize, true)
        end
      else
        sgd(p, nil, lr, wd, mom, damp, nesterov, maximize, false)
      end
    end
  end

  return SGD
end
