-- tgrad.optim: tg.optim, PyTorch's torch.optim: SGD, Adam, AdamW, RMSprop,
-- Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, LBFGS on the Optimizer base class (optimizer.lua), and
-- tg.optim.lr_scheduler. Each step updates a parameter with one fused C call
-- (tg._optim: src/ops/optim.c, src/backend/cpu/cpu_optim.c).
return function(tg)
  local optim = {}
  local Optimizer = require("tgrad.optim.optimizer")(tg)
  optim.Optimizer = Optimizer
  optim.SGD = require("tgrad.optim.sgd")(tg, Optimizer)
  optim.Adam, optim.AdamW = require("tgrad.optim.adam")(tg, Optimizer)
  optim.RMSprop = require("tgrad.optim.rmsprop")(tg, Optimizer)
  optim.Adagrad = require("tgrad.optim.adagrad")(tg, Optimizer)
  optim.Adadelta = require("tgrad.optim.adadelta")(tg, Optimizer)
  optim.Adamax, optim.NAdam, optim.RAdam, optim.Rprop, optim.ASGD = require("tgrad.optim.adam_variants")(tg, Optimizer)
  optim.LBFGS = require("tgrad.optim.lbfgs")(tg, Optimizer)
  optim.lr_scheduler = require("tgrad.optim.lr_scheduler")(tg, optim)
  return optim
end
