-- tgrad.autograd.inplace: t:op_(...) for the out-of-place ops that take
-- parameters or live outside ops.def (clamp_, softplus_, masked_fill_ ...).
-- The C side (tg._apply_inplace) checks the leaf rule, runs the op out of
-- place, writes the result into t, bumps the version and rebases t's history.
-- The ops.def unary ops and add_ sub_ mul_ div_ pow_ ... are registered in C.
-- The op runs from C, so its errors name no line: they are re-raised at the caller's.
return function(tg)
  local Tensor = tg._Tensor
  local apply = tg._apply_inplace
  local rethrow = tg._rethrow
  local names = {
    "clamp", "clamp_min", "clamp_max", "clip", "softplus", "gelu", "hardtanh", "leaky_relu", "elu",
    "masked_fill", "index_fill", "index_add", "index_copy", "scatter", "scatter_add", "addcmul",
    "addcdiv", "lerp", "tril", "triu", "logical_not", "nan_to_num", "hardsigmoid", "hardswish",
    "mish", "silu", "selu", "celu", "log_softmax", "copysign", "hypot", "logit", "erfinv",
    "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "log2", "log10", "exp2",
    "deg2rad", "rad2deg", "frac", "sgn", "xlogy", "float_power", "true_divide", "floor_divide",
    "bitwise_not", "addmm", "addmv", "baddbmm", "renorm",
  }
  local installed = {}
  local function install(name)
    local op = Tensor[name]
    if type(op) == "function" and Tensor[name .. "_"] == nil then
      local f = function(self, ...)
        local ok, r = pcall(apply, self, op, ...)
        if not ok then rethrow(r, 2) end
        return r
      end
      Tensor[name .. "_"] = f
      if tg[name .. "_"] == nil then tg[name .. "_"] = f end
      installed[#installed + 1] = name .. "_"
    end
  end
  for _, name in ipairs(names) do install(name) end
  return install, installed
end
