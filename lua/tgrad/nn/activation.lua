-- tgrad.nn.activation: the activation modules over tg.F, printed as PyTorch.
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F = tg.F
  local Module = nn.Module

  local function inplace_str(self, sep) return self.inplace and (sep .. "inplace=True") or "" end

  -- an activation with options spec {{name, default}, ...} (inplace last where PyTorch has it);
  -- call(self, x) does the work, repr(self) its extra_repr
  local function make(name, spec, call, repr)
    local C = Module:extend(name)
    nn[name] = C
    function C:__init(...)
      local o = A.parse(name, spec, ...)
      for _, s in ipairs(spec) do self[s[1]] = o[s[1]] end
    end
    C.forward = call
    if repr then C.extra_repr = repr end
    return C
  end

  local INPLACE = {{"inplace", false}}
  make("ReLU", INPLACE, function(self, x) return F.relu(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("ReLU6", INPLACE, function(self, x) return F.relu6(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("SELU", INPLACE, function(self, x) return F.selu(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("SiLU", INPLACE, function(self, x)
    if self.inplace then return x:silu_() end
    return F.silu(x)
  end, function(self) return inplace_str(self, "") end)
  make("Mish", INPLACE, function(self, x) return F.mish(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("Hardswish", INPLACE, function(self, x) return F.hardswish(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("Hardsigmoid", INPLACE, function(self, x) return F.hardsigmoid(x, self.inplace) end,
       function(self) return inplace_str(self, "") end)
  make("LeakyReLU", {{"negative_slope", 0.01}, {"inplace", false}},
       function(self, x) return F.leaky_relu(x, self.negative_slope, self.inplace) end,
       function(self) return "negative_slope=" .. R.repr(self.negative_slope) .. inplace_str(self, ", ") end)
  make("ELU", {{"alpha", 1.0}, {"inplace", false}},
       function(self, x) return F.elu(x, self.alpha, self.inplace) end,
       function(self) return "alpha=" .. R.repr(self.alpha) .. inplace_str(self, ", ") end)
  make("CELU", {{"alpha", 1.0}, {"inplace", false}},
       function(self, x) return F.celu(x, self.alpha, self.inplace) end,
       function(self) return "alpha=" .. R.repr(self.alpha) .. inplace_str(self, ", ") end)
  make("Hardtanh", {{"min_val", -1.0}, {"max_val", 1.0}, {"inplace", false}},
       function(self, x) return F.hardtanh(x, self.min_val, self.max_val, self.inplace) end,
       function(self)
         return ("min_val=%s, max_val=%s%s"):format(R.repr(self.min_val), R.repr(self.max_val), inplace_str(self, ", "))
       end)
  make("GELU", {{"approximate", "none"}},
       function(self, x) return tg.gelu(x, {approximate = self.approximate}) end,
       function(self) return "approximate=" .. R.repr(self.approximate) end)
  make("Softplus", {{"beta", 1.0}, {"threshold", 20.0}},
       function(self, x) return tg.softplus(x, self.beta, self.threshold) end,
       function(self) return ("beta=%s, threshold=%s"):format(R.repr(self.beta), R.repr(self.threshold)) end)
  make("Sigmoid", {}, function(_, x) return tg.sigmoid(x) end)
  make("Tanh", {}, function(_, x) return tg.tanh(x) end)
  make("LogSigmoid", {}, function(_, x) return F.logsigmoid(x) end)
  make("Softsign", {}, function(_, x) return F.softsign(x) end)
  make("Tanhshrink", {}, function(_, x) return F.tanhshrink(x) end)

  -- PyTorch's implicit softmax dim (deprecated there), 1-based
  local function softmax_dim(x)
    local nd = x:dim()
    return (nd == 0 or nd == 1 or nd == 3) and 1 or 2
  end
  local function make_softmax(name, fn)
    make(name, {{"dim"}}, function(self, x) return fn(x, self.dim or softmax_dim(x)) end,
         function(self) return "dim=" .. R.repr(self.dim) end)
  end
  make_softmax("Softmax", function(x, d) return tg.softmax(x, d) end)
  make_softmax("LogSoftmax", function(x, d) return tg.log_softmax(x, d) end)
  make_softmax("Softmin", function(x, d) return F.softmin(x, d) end)
end
