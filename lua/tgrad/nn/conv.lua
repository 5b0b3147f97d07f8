-- tgrad.nn.conv: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d over
-- tg.F.conv*d / conv_transpose*d, with PyTorch's options, printing and
-- default initialisation. padding_mode "reflect" / "replicate" / "circular"
-- pads with F.pad first, as PyTorch's modules do.
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F, init = tg.F, nn.init
  local Module = nn.Module
  local empty_param = nn._empty_param
  local sqrt = math.sqrt

  local MODES = {zeros = true, reflect = true, replicate = true, circular = true}

  local function conv_spec(transposed)
    local s = {{"in_channels", A.REQUIRED}, {"out_channels", A.REQUIRED}, {"kernel_size", A.REQUIRED},
               {"stride", 1}, {"padding", 0}}
    if transposed then
      for _, e in ipairs({{"output_padding", 0}, {"groups", 1}, {"bias", true}, {"dilation", 1}}) do s[#s + 1] = e end
    else
      for _, e in ipairs({{"dilation", 1}, {"groups", 1}, {"bias", true}}) do s[#s + 1] = e end
    end
    s[#s + 1] = {"padding_mode", "zeros"}
    s[#s + 1] = {"device"}
    s[#s + 1] = {"dtype"}
    return s
  end

  local function all_eq(t, v)
    for _, x in ipairs(t) do if x ~= v then return false end end
    return true
  end

  -- the shared constructor of _ConvNd
  local function conv_init(self, cname, nd, transposed, ...)
    local o = A.parse(cname, conv_spec(transposed), ...)
    local groups = o.groups
    if type(groups) ~= "number" or groups <= 0 then error("groups must be a positive integer", 3) end
    if o.in_channels % groups ~= 0 then error("in_channels must be divisible by groups", 3) end
    if o.out_channels % groups ~= 0 then error("out_channels must be divisible by groups", 3) end
    if not MODES[o.padding_mode] then
      error(("padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got padding_mode='%s'")
        :format(tostring(o.padding_mode)), 3)
    end
    self.in_channels, self.out_channels = o.in_channels, o.out_channels
    self.kernel_size = A.tuple(o.kernel_size, nd, "kernel_size")
    self.stride = A.tuple(o.stride, nd, "stride")
    self.dilation = A.tuple(o.dilation, nd, "dilation")
    self.transposed = transposed
    self.output_padding = A.tuple(transposed and o.output_padding or 0, nd, "output_padding")
    self.groups = groups
    self.padding_mode = o.padding_mode
    if type(o.padding) == "string" then
      if o.padding ~= "same" and o.padding ~= "valid" then
        error(("Invalid padding string '%s', should be one of {'valid', 'same'}"):format(o.padding), 3)
      end
      if o.padding == "same" and not all_eq(self.stride, 1) then
        error("padding='same' is not supported for strided convolutions", 3)
      end
      self.padding = o.padding
    else
      self.padding = A.tuple(o.padding, nd, "padding")
    end
    -- F.pad's list for the non-zeros modes: last dim first, (left, right) each
    local rp = {}
    for d = nd, 1, -1 do
      local l, r
      if self.padding == "valid" then l, r = 0, 0
      elseif self.padding == "same" then
        local total = self.dilation[d] * (self.kernel_size[d] - 1)
        l = total // 2
        r = total - l
      else
        l, r = self.padding[d], self.padding[d]
      end
      rp[#rp + 1] = l
      rp[#rp + 1] = r
    end
    self._reversed_padding_repeated_twice = rp
    local wshape
    if transposed then wshape = {o.in_channels, o.out_channels // groups}
    else wshape = {o.out_channels, o.in_channels // groups} end
    for d = 1, nd do wshape[#wshape + 1] = self.kernel_size[d] end
    self.weight = empty_param(wshape, o)
    if o.bias then self.bias = empty_param({o.out_channels}, o) else self:register_parameter("bias", nil) end
    self:reset_parameters()
  end

  local function reset_parameters(self)
    init.kaiming_uniform_(self.weight, sqrt(5))
    if self.bias ~= nil then
      local fan_in = init._calculate_fan_in_and_fan_out(self.weight)
      if fan_in ~= 0 then
        local bound = 1 / sqrt(fan_in)
        init.uniform_(self.bias, -bound, bound)
      end
    end
  end

  local function extra_repr(self)
    local s = ("%d, %d, kernel_size=%s, stride=%s"):format(self.in_channels, self.out_channels,
      R.repr(self.kernel_size), R.repr(self.stride))
    if type(self.padding) == "string" or not all_eq(self.padding, 0) then
      s = s .. ", padding=" .. R.str(self.padding)
    end
    if not all_eq(self.dilation, 1) then s = s .. ", dilation=" .. R.repr(self.dilation) end
    if not all_eq(self.output_padding, 0) then s = s .. ", output_padding=" .. R.repr(self.output_padding) end
    if self.groups ~= 1 then s = s .. ", groups=" .. self.groups end
    if self.bias == nil then s = s .. ", bias=False" end
    if self.padding_mode ~= "zeros" then s = s .. ", padding_mode=" .. self.padding_mode end
    return s
  end

  local function make_conv(name, nd, fconv)
    local C = Module:extend(name)
    nn[name] = C
    --- ConvNd(in_channels, out_channels, kernel_size [, stride = 1, padding = 0, dilation = 1,
    --- groups = 1, bias = true, padding_mode = "zeros"] [, {opts}])
    function C:__init(...) conv_init(self, name, nd, false, ...) end
    C.reset_parameters = reset_parameters
    C.extra_repr = extra_repr
    function C:_conv_forward(x, weight, bias)
      local f = F[fconv]
      if self.padding_mode ~= "zeros" then
        return f(F.pad(x, self._reversed_padding_repeated_twice, {mode = self.padding_mode}), weight, bias,
          {stride = self.stride, padding = 0, dilation = self.dilation, groups = self.groups})
      end
      return f(x, weight, bias, {stride = self.stride, padding = self.padding, dilation = self.dilation,
                                 groups = self.groups})
    end
    function C:forward(x) return self:_conv_forward(x, self.weight, self.bias) end
    return C
  end
  make_conv("Conv1d", 1, "conv1d")
  make_conv("Conv2d", 2, "conv2d")

  local function make_convT(name, nd, fconv)
    local C = Module:extend(name)
    nn[name] = C
    --- ConvTransposeNd(in_channels, out_channels, kernel_size [, stride = 1, padding = 0,
    --- output_padding = 0, groups = 1, bias = true, dilation = 1, padding_mode = "zeros"] [, {opts}])
    function C:__init(...)
      conv_init(self, name, nd, true, ...)
      if self.padding_mode ~= "zeros" then
        error(('Only "zeros" padding mode is supported for %s'):format(name), 2)
      end
      if type(self.padding) == "string" then
        error(("%s does not support padding='%s'"):format(name, self.padding), 2)
      end
    end
    C.reset_parameters = reset_parameters
    C.extra_repr = extra_repr
    -- output_padding that makes the output the requested size (PyTorch's _output_padding)
    function C:_output_padding(x, output_size)
      if output_size == nil then return self.output_padding end
      local nsd = #self.kernel_size
      local xd = x:dim()
      local os = {}
      if #output_size == nsd + 2 or #output_size == nsd + 1 then
        for i = #output_size - nsd + 1, #output_size do os[#os + 1] = output_size[i] end
      elseif #output_size == nsd then
        for i = 1, nsd do os[i] = output_size[i] end
      else
        error(("ConvTranspose%dD: for %dD input, output_size must have %d or %d elements (got %d)")
          :format(nsd, xd, nsd, nsd + 2, #output_size), 3)
      end
      local res = {}
      for d = 1, nsd do
        local insz = x.shape[xd - nsd + d]
        local min = (insz - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1) + 1
        local max = min + self.stride[d] - 1
        if os[d] < min or os[d] > max then
          error(("requested an output size of %s, but valid sizes range from %d to %d (for an input of %d)")
            :format(R.repr(os), min, max, insz), 3)
        end
        res[d] = os[d] - min
      end
      return res
    end
    function C:forward(x, output_size)
      local op = self:_output_padding(x, output_size)
      return F[fconv](x, self.weight, self.bias, {stride = self.stride, padding = self.padding,
        output_padding = op, groups = self.groups, dilation = self.dilation})
    end
    return C
  end
  make_convT("ConvTranspose1d", 1, "conv_transpose1d")
  make_convT("ConvTranspose2d", 2, "conv_transpose2d")
end
