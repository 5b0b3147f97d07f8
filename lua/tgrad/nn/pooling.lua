-- tgrad.nn.pooling: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d,
-- AdaptiveMaxPool1d/2d and Upsample over tg.F's pooling and interpolate
-- functions; printing as PyTorch (AvgPool1d keeps tuples, the 2-D ones the values given).
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F = tg.F
  local Module = nn.Module

  local function make_maxpool(name, fname)
    local C = Module:extend(name)
    nn[name] = C
    --- MaxPoolNd(kernel_size [, stride = kernel_size, padding = 0, dilation = 1,
    --- return_indices = false, ceil_mode = false]): forward returns out [, indices]
    function C:__init(...)
      local o = A.parse(name, {{"kernel_size", A.REQUIRED}, {"stride"}, {"padding", 0}, {"dilation", 1},
                               {"return_indices", false}, {"ceil_mode", false}}, ...)
      self.kernel_size = o.kernel_size
      self.stride = o.stride ~= nil and o.stride or o.kernel_size
      self.padding, self.dilation = o.padding, o.dilation
      self.return_indices, self.ceil_mode = o.return_indices, o.ceil_mode
    end
    function C:forward(x)
      return F[fname](x, self.kernel_size, {stride = self.stride, padding = self.padding, dilation = self.dilation,
        ceil_mode = self.ceil_mode, return_indices = self.return_indices})
    end
    function C:extra_repr()
      return ("kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s"):format(R.repr(self.kernel_size),
        R.repr(self.stride), R.repr(self.padding), R.repr(self.dilation), R.repr(self.ceil_mode))
    end
  end
  make_maxpool("MaxPool1d", "max_pool1d")
  make_maxpool("MaxPool2d", "max_pool2d")

  --- AvgPool1d(kernel_size [, stride = kernel_size, padding = 0, ceil_mode = false, count_include_pad = true])
  local AvgPool1d = Module:extend("AvgPool1d")
  nn.AvgPool1d = AvgPool1d
  function AvgPool1d:__init(...)
    local o = A.parse("AvgPool1d", {{"kernel_size", A.REQUIRED}, {"stride"}, {"padding", 0}, {"ceil_mode", false},
                                    {"count_include_pad", true}}, ...)
    self.kernel_size = A.tuple(o.kernel_size, 1, "kernel_size")
    self.stride = A.tuple(o.stride ~= nil and o.stride or o.kernel_size, 1, "stride")
    self.padding = A.tuple(o.padding, 1, "padding")
    self.ceil_mode, self.count_include_pad = o.ceil_mode, o.count_include_pad
  end
  function AvgPool1d:forward(x)
    return F.avg_pool1d(x, self.kernel_size, {stride = self.stride, padding = self.padding,
      ceil_mode = self.ceil_mode, count_include_pad = self.count_include_pad})
  end
  function AvgPool1d:extra_repr()
    return ("kernel_size=%s, stride=%s, padding=%s"):format(R.repr(self.kernel_size), R.repr(self.stride),
      R.repr(self.padding))
  end

  --- AvgPool2d(kernel_size [, stride = kernel_size, padding = 0, ceil_mode = false,
  --- count_include_pad = true, divisor_override = nil])
  local AvgPool2d = Module:extend("AvgPool2d")
  nn.AvgPool2d = AvgPool2d
  function AvgPool2d:__init(...)
    local o = A.parse("AvgPool2d", {{"kernel_size", A.REQUIRED}, {"stride"}, {"padding", 0}, {"ceil_mode", false},
                                    {"count_include_pad", true}, {"divisor_override"}}, ...)
    self.kernel_size = o.kernel_size
    self.stride = o.stride ~= nil and o.stride or o.kernel_size
    self.padding, self.ceil_mode = o.padding, o.ceil_mode
    self.count_include_pad, self.divisor_override = o.count_include_pad, o.divisor_override
  end
  function AvgPool2d:forward(x)
    return F.avg_pool2d(x, self.kernel_size, {stride = self.stride, padding = self.padding,
      ceil_mode = self.ceil_mode, count_include_pad = self.count_include_pad,
      divisor_override = self.divisor_override})
  end
  function AvgPool2d:extra_repr()
    return ("kernel_size=%s, stride=%s, padding=%s"):format(R.repr(self.kernel_size), R.repr(self.stride),
      R.repr(self.padding))
  end

  local function make_adaptive(name, fname, has_indices)
    local C = Module:extend(name)
    nn[name] = C
    --- AdaptiveXPoolNd(output_size [, return_indices = false (max only)])
    function C:__init(...)
      local spec = {{"output_size", A.REQUIRED}}
      if has_indices then spec[2] = {"return_indices", false} end
      local o = A.parse(name, spec, ...)
      self.output_size = o.output_size
      self.return_indices = o.return_indices
    end
    function C:forward(x)
      if has_indices then return F[fname](x, self.output_size, {return_indices = self.return_indices}) end
      return F[fname](x, self.output_size)
    end
    function C:extra_repr() return "output_size=" .. R.repr(self.output_size) end
  end
  make_adaptive("AdaptiveAvgPool1d", "adaptive_avg_pool1d", false)
  make_adaptive("AdaptiveAvgPool2d", "adaptive_avg_pool2d", false)
  make_adaptive("AdaptiveMaxPool1d", "adaptive_max_pool1d", true)
  make_adaptive("AdaptiveMaxPool2d", "adaptive_max_pool2d", true)

  --- Upsample([size] [, {size, scale_factor, mode = "nearest", align_corners}])
  local Upsample = Module:extend("Upsample")
  nn.Upsample = Upsample
  local function floats(v)
    if type(v) == "number" then return v + 0.0 end
    if type(v) == "table" then
      local t = {}
      for i, x in ipairs(v) do t[i] = x + 0.0 end
      return t
    end
    return v
  end
  function Upsample:__init(...)
    local o = A.parse("Upsample", {{"size"}, {"scale_factor"}, {"mode", "nearest"}, {"align_corners"},
                                   {"recompute_scale_factor"}}, ...)
    self.size = o.size
    self.scale_factor = floats(o.scale_factor)
    self.mode, self.align_corners = o.mode, o.align_corners
    self.recompute_scale_factor = o.recompute_scale_factor
  end
  function Upsample:forward(x)
    return F.interpolate(x, {size = self.size, scale_factor = self.scale_factor, mode = self.mode,
      align_corners = self.align_corners})
  end
  function Upsample:extra_repr()
    local info
    if self.scale_factor ~= nil then info = "scale_factor=" .. R.repr(self.scale_factor)
    else info = "size=" .. R.repr(self.size) end
    return info .. ", mode=" .. R.repr(self.mode)
  end

  --- UpsamplingNearest2d / UpsamplingBilinear2d([size] [, {size, scale_factor}])
  local UN = Upsample:extend("UpsamplingNearest2d")
  nn.UpsamplingNearest2d = UN
  function UN:__init(...)
    local o = A.parse("UpsamplingNearest2d", {{"size"}, {"scale_factor"}}, ...)
    Upsample.__init(self, {size = o.size, scale_factor = o.scale_factor, mode = "nearest"})
  end
  local UB = Upsample:extend("UpsamplingBilinear2d")
  nn.UpsamplingBilinear2d = UB
  function UB:__init(...)
    local o = A.parse("UpsamplingBilinear2d", {{"size"}, {"scale_factor"}}, ...)
    Upsample.__init(self, {size = o.size, scale_factor = o.scale_factor, mode = "bilinear", align_corners = true})
  end
end
