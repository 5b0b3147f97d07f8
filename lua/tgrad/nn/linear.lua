-- tgrad.nn.linear: Identity, Linear, Bilinear, Flatten, Unflatten (torch.nn's),
-- with PyTorch's default initialisation.
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F, init = tg.F, nn.init
  local Module, Parameter = nn.Module, nn.Parameter
  local sqrt = math.sqrt

  -- a parameter of the given shape, dtype (float32 by default) and device
  -- tensor creation options from a layer's dtype / device (nil when neither: tg's
  -- creation functions take no empty options table)
  local function topts(o)
    if o.dtype == nil and o.device == nil then return nil end
    return {dtype = o.dtype, device = o.device}
  end
  nn._topts = topts
  local function empty_param(shape, o)
    return Parameter(tg.empty(shape, topts(o)))
  end
  nn._empty_param = empty_param

  --- Identity(...): returns its input (arguments ignored, as PyTorch)
  local Identity = Module:extend("Identity")
  nn.Identity = Identity
  function Identity:forward(x) return x end

  --- Linear(in_features, out_features [, bias = true] [, {bias, dtype, device}]): y = x W^T + b
  local Linear = Module:extend("Linear")
  nn.Linear = Linear
  function Linear:__init(...)
    local o = A.parse("Linear", {{"in_features", A.REQUIRED}, {"out_features", A.REQUIRED}, {"bias", true},
                                 {"device"}, {"dtype"}}, ...)
    self.in_features, self.out_features = o.in_features, o.out_features
    self.weight = empty_param({o.out_features, o.in_features}, o)
    if o.bias then self.bias = empty_param({o.out_features}, o) else self:register_parameter("bias", nil) end
    self:reset_parameters()
  end
  function Linear:reset_parameters()
    init.kaiming_uniform_(self.weight, sqrt(5))
    if self.bias ~= nil then
      local fan_in = init._calculate_fan_in_and_fan_out(self.weight)
      local bound = fan_in > 0 and 1 / sqrt(fan_in) or 0
      init.uniform_(self.bias, -bound, bound)
    end
  end
  function Linear:forward(x) return F.linear(x, self.weight, self.bias) end
  function Linear:extra_repr()
    return ("in_features=%d, out_features=%d, bias=%s"):format(self.in_features, self.out_features,
      R.repr(self.bias ~= nil))
  end

  --- Bilinear(in1_features, in2_features, out_features [, bias = true]): y = x1^T A x2 + b
  local Bilinear = Module:extend("Bilinear")
  nn.Bilinear = Bilinear
  function Bilinear:__init(...)
    local o = A.parse("Bilinear", {{"in1_features", A.REQUIRED}, {"in2_features", A.REQUIRED},
                                   {"out_features", A.REQUIRED}, {"bias", true}, {"device"}, {"dtype"}}, ...)
    self.in1_features, self.in2_features, self.out_features = o.in1_features, o.in2_features, o.out_features
    self.weight = empty_param({o.out_features, o.in1_features, o.in2_features}, o)
    if o.bias then self.bias = empty_param({o.out_features}, o) else self:register_parameter("bias", nil) end
    self:reset_parameters()
  end
  function Bilinear:reset_parameters()
    local bound = 1 / sqrt(self.weight.shape[2])
    init.uniform_(self.weight, -bound, bound)
    if self.bias ~= nil then init.uniform_(self.bias, -bound, bound) end
  end
  function Bilinear:forward(x1, x2) return F.bilinear(x1, x2, self.weight, self.bias) end
  function Bilinear:extra_repr()
    return ("in1_features=%d, in2_features=%d, out_features=%d, bias=%s"):format(self.in1_features,
      self.in2_features, self.out_features, R.repr(self.bias ~= nil))
  end

  --- Flatten([start_dim = 2, end_dim = -1]) (1-based dims: the batch dim stays)
  local Flatten = Module:extend("Flatten")
  nn.Flatten = Flatten
  function Flatten:__init(...)
    local o = A.parse("Flatten", {{"start_dim", 2}, {"end_dim", -1}}, ...)
    self.start_dim, self.end_dim = o.start_dim, o.end_dim
  end
  function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end
  function Flatten:extra_repr() return ("start_dim=%d, end_dim=%d"):format(self.start_dim, self.end_dim) end

  --- Unflatten(dim, unflattened_size): dim (1-based) becomes the given sizes
  local Unflatten = Module:extend("Unflatten")
  nn.Unflatten = Unflatten
  function Unflatten:__init(...)
    local o = A.parse("Unflatten", {{"dim", A.REQUIRED}, {"unflattened_size", A.REQUIRED}}, ...)
    if type(o.unflattened_size) ~= "table" then
      error("unflattened_size must be tuple of ints, but found type " .. type(o.unflattened_size), 2)
    end
    self.dim, self.unflattened_size = o.dim, o.unflattened_size
  end
  function Unflatten:forward(x) return x:unflatten(self.dim, self.unflattened_size) end
  function Unflatten:extra_repr()
    return ("dim=%s, unflattened_size=%s"):format(R.repr(self.dim), R.repr(self.unflattened_size))
  end
end
