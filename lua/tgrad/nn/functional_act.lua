-- tgrad.nn.functional_act (helper act): the activations that are core ops (tg._activation,
-- src/ops/activation.c), with PyTorch's arguments and grad_fn names: elu, selu, celu, leaky_relu,
-- hardtanh, relu6, hardswish, hardsigmoid, mish, logsigmoid. inplace = true writes into x and
-- records PyTorch's in-place node (EluBackward1, CeluBackward1, LeakyReluBackward1).
-- torch.selu / torch.celu (and selu_ / celu_) exist in PyTorch: tg.selu, tg.celu too.
return function(tg, F, act_args)
  local act = tg._activation
  local SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

  local function num(fname, what, v)
    if type(v) ~= "number" then
      error(("%s(): argument '%s' must be Number, not %s"):format(fname, what, type(v)), 4)
    end
    return v
  end

  --- elu(x [, alpha = 1, inplace]): x > 0 ? x : alpha (exp(x) - 1)   (EluBackward0 / EluBackward1)
  F.elu = function(x, ...)
    local v = act_args("elu", {"alpha"}, {1.0}, x, ...)
    return act("elu", x, num("elu", "alpha", v[1]), 1.0, 1.0, v.inplace)
  end
  --- selu(x [, inplace]): scale elu(x, alpha) with PyTorch's constants (EluBackward0)
  F.selu = function(x, ...)
    local v = act_args("selu", {}, {}, x, ...)
    return act("elu", x, SELU_ALPHA, SELU_SCALE, 1.0, v.inplace)
  end
  --- celu(x [, alpha = 1, inplace]): max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (CeluBackward0)
  F.celu = function(x, ...)
    local v = act_args("celu", {"alpha"}, {1.0}, x, ...)
    local a = num("celu", "alpha", v[1])
    return act("celu", x, a, 1.0, a ~= 0 and 1.0 / a or 0, v.inplace)
  end
  --- leaky_relu(x [, negative_slope = 0.01, inplace]) (LeakyReluBackward0 / LeakyReluBackward1)
  F.leaky_relu = function(x, ...)
    local v = act_args("leaky_relu", {"negative_slope"}, {0.01}, x, ...)
    return act("leaky_relu", x, num("leaky_relu", "negative_slope", v[1]), 0, 0, v.inplace)
  end
  --- hardtanh(x [, min_val = -1, max_val = 1, inplace]); gradient 1 strictly inside (HardtanhBackward0)
  F.hardtanh = function(x, ...)
    local v = act_args("hardtanh", {"min_val", "max_val"}, {-1.0, 1.0}, x, ...)
    return act("hardtanh", x, num("hardtanh", "min_val", v[1]), num("hardtanh", "max_val", v[2]), 0, v.inplace)
  end
  --- relu6(x [, inplace]) = hardtanh(x, 0, 6) (HardtanhBackward0, as PyTorch)
  F.relu6 = function(x, ...)
    local v = act_args("relu6", {}, {}, x, ...)
    return act("hardtanh", x, 0.0, 6.0, 0, v.inplace)
  end
  --- hardswish(x [, inplace]) = x relu6(x + 3) / 6; hardsigmoid(x [, inplace]) = relu6(x + 3) / 6
  F.hardswish = function(x, ...)
    local v = act_args("hardswish", {}, {}, x, ...)
    return act("hardswish", x, 0, 0, 0, v.inplace)
  end
  F.hardsigmoid = function(x, ...)
    local v = act_args("hardsigmoid", {}, {}, x, ...)
    return act("hardsigmoid", x, 0, 0, 0, v.inplace)
  end
  --- mish(x [, inplace]) = x tanh(softplus(x)) (MishBackward0)
  F.mish = function(x, ...)
    local v = act_args("mish", {}, {}, x, ...)
    return act("mish", x, 0, 0, 0, v.inplace)
  end
  --- logsigmoid(x) = log(sigmoid(x)), stable (LogSigmoidBackward0)
  F.logsigmoid = function(x)
    act_args("logsigmoid", {}, {}, x)
    return act("logsigmoid", x)
  end

  local names = {"elu", "selu", "celu", "leaky_relu", "hardtanh", "relu6", "hardswish", "hardsigmoid", "mish",
                 "logsigmoid"}
  for _, name in ipairs(names) do F[name] = tg._entry(F[name]) end
  -- torch.selu(x), torch.celu(x, alpha) and their in-place forms
  local selu, celu = F.selu, F.celu
  tg.selu = function(x) return selu(x) end
  tg.celu = function(x, alpha) return celu(x, alpha) end
  tg.selu_ = function(x) return selu(x, true) end
  tg.celu_ = function(x, alpha) return celu(x, alpha or 1.0, true) end
  return names
end
