-- tgrad.nn.normalization: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm over
-- tg.F.batch_norm / layer_norm / group_norm. Batch norm keeps running_mean,
-- running_var and num_batches_tracked buffers, updated in training and used in
-- eval(); momentum = nil is the cumulative average, as PyTorch.
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F, init = tg.F, nn.init
  local Module = nn.Module
  local empty_param = nn._empty_param

  -- the affine parameters every norm layer registers: weight and (optionally) bias of
  -- the given shape, or both registered as nil, in PyTorch's order
  local function register_affine(self, affine, bias, shape, o)
    if affine then
      self.weight = empty_param(shape, o)
      if bias then self.bias = empty_param(shape, o) else self:register_parameter("bias", nil) end
    else
      self:register_parameter("weight", nil)
      self:register_parameter("bias", nil)
    end
  end

  -- PyTorch's reset of those: weight to ones, bias to zeros
  local function reset_affine(self, affine)
    if affine then
      init.ones_(self.weight)
      if self.bias ~= nil then init.zeros_(self.bias) end
    end
  end

  local function make_bn(name, check_dim)
    local C = Module:extend(name)
    nn[name] = C
    C._optional_state = {num_batches_tracked = true}
    --- BatchNormNd(num_features [, eps = 1e-5, momentum = 0.1, affine = true,
    --- track_running_stats = true] [, {bias = true, dtype, device}])
    function C:__init(...)
      local o = A.parse(name, {{"num_features", A.REQUIRED}, {"eps", 1e-5}, {"momentum", 0.1}, {"affine", true},
                               {"track_running_stats", true}, {"device"}, {"dtype"}, {"bias", true}}, ...)
      -- PyTorch's momentum=None (a cumulative average) is momentum = false: a nil
      -- option cannot be told from an absent one
      if o.momentum == false then o.momentum = nil end
      self.num_features, self.eps, self.momentum = o.num_features, o.eps, o.momentum
      self.affine, self.track_running_stats = o.affine, o.track_running_stats
      self._has_bias = o.bias and o.affine
      local n = o.num_features
      register_affine(self, o.affine, o.bias, {n}, o)
      if o.track_running_stats then
        self:register_buffer("running_mean", tg.zeros(n, nn._topts(o)))
        self:register_buffer("running_var", tg.ones(n, nn._topts(o)))
        self:register_buffer("num_batches_tracked", tg.tensor(0))
      else
        self:register_buffer("running_mean", nil)
        self:register_buffer("running_var", nil)
        self:register_buffer("num_batches_tracked", nil)
      end
      self:reset_parameters()
    end
    function C:reset_running_stats()
      if self.track_running_stats then
        tg.no_grad(function()
          self.running_mean:zero_()
          self.running_var:fill_(1)
          self.num_batches_tracked:zero_()
        end)
      end
    end
    function C:reset_parameters()
      self:reset_running_stats()
      reset_affine(self, self.affine)
    end
    function C:forward(x)
      check_dim(x)
      local factor = self.momentum or 0.0
      if self.training and self.track_running_stats and self.num_batches_tracked ~= nil then
        tg.no_grad(function() self.num_batches_tracked:add_(1) end)
        if self.momentum == nil then factor = 1.0 / self.num_batches_tracked:item() end
      end
      local bn_training = self.training or (self.running_mean == nil and self.running_var == nil)
      local use_stats = not self.training or self.track_running_stats
      return F.batch_norm(x, use_stats and self.running_mean or nil, use_stats and self.running_var or nil,
        {weight = self.weight, bias = self.bias, training = bn_training, momentum = factor, eps = self.eps})
    end
    function C:extra_repr()
      return ("%d, eps=%s, momentum=%s, affine=%s, bias=%s, track_running_stats=%s"):format(self.num_features,
        R.repr(self.eps), R.repr(self.momentum), R.repr(self.affine), R.repr(self._has_bias),
        R.repr(self.track_running_stats))
    end
    return C
  end
  make_bn("BatchNorm1d", function(x)
    if x:dim() ~= 2 and x:dim() ~= 3 then error(("expected 2D or 3D input (got %dD input)"):format(x:dim()), 4) end
  end)
  make_bn("BatchNorm2d", function(x)
    if x:dim() ~= 4 then error(("expected 4D input (got %dD input)"):format(x:dim()), 4) end
  end)

  --- LayerNorm(normalized_shape [, eps = 1e-5, elementwise_affine = true, bias = true])
  local LayerNorm = Module:extend("LayerNorm")
  nn.LayerNorm = LayerNorm
  function LayerNorm:__init(...)
    local o = A.parse("LayerNorm", {{"normalized_shape", A.REQUIRED}, {"eps", 1e-5}, {"elementwise_affine", true},
                                    {"bias", true}, {"device"}, {"dtype"}}, ...)
    local ns = o.normalized_shape
    if type(ns) == "number" then ns = {ns} else
      local c = {}
      for i, v in ipairs(ns) do c[i] = v end
      ns = c
    end
    self.normalized_shape, self.eps, self.elementwise_affine = ns, o.eps, o.elementwise_affine
    self._has_bias = o.bias and o.elementwise_affine
    register_affine(self, o.elementwise_affine, o.bias, ns, o)
    self:reset_parameters()
  end
  function LayerNorm:reset_parameters() reset_affine(self, self.elementwise_affine) end
  function LayerNorm:forward(x)
    return F.layer_norm(x, self.normalized_shape, {weight = self.weight, bias = self.bias, eps = self.eps})
  end
  function LayerNorm:extra_repr()
    return ("%s, eps=%s, elementwise_affine=%s, bias=%s"):format(R.repr(self.normalized_shape), R.repr(self.eps),
      R.repr(self.elementwise_affine), R.repr(self._has_bias))
  end

  --- GroupNorm(num_groups, num_channels [, eps = 1e-5, affine = true, bias = true])
  local GroupNorm = Module:extend("GroupNorm")
  nn.GroupNorm = GroupNorm
  function GroupNorm:__init(...)
    local o = A.parse("GroupNorm", {{"num_groups", A.REQUIRED}, {"num_channels", A.REQUIRED}, {"eps", 1e-5},
                                    {"affine", true}, {"device"}, {"dtype"}, {"bias", true}}, ...)
    if o.num_channels % o.num_groups ~= 0 then error("num_channels must be divisible by num_groups", 2) end
    self.num_groups, self.num_channels, self.eps, self.affine = o.num_groups, o.num_channels, o.eps, o.affine
    self._has_bias = o.bias and o.affine
    register_affine(self, o.affine, o.bias, {o.num_channels}, o)
    self:reset_parameters()
  end
  function GroupNorm:reset_parameters() reset_affine(self, self.affine) end
  function GroupNorm:forward(x)
    return F.group_norm(x, self.num_groups, {weight = self.weight, bias = self.bias, eps = self.eps})
  end
  function GroupNorm:extra_repr()
    return ("%d, %d, eps=%s, affine=%s, bias=%s"):format(self.num_groups, self.num_channels, R.repr(self.eps),
      R.repr(self.affine), R.repr(self._has_bias))
  end
end
