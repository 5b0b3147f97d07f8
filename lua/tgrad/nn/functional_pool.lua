-- tgrad.nn.functional: pooling, padding and resizing (helper pool). The C functions
-- (src/binding/ops_pool.c) are published as they are, so errors name the caller's line.
-- Window options take a number or a table ({h, w} for the 2-D ops); indices are 1-based
-- flat positions within each (H*W) plane (PyTorch's + 1).
return function(tg, F)
  --- max_pool1d / max_pool2d(x, kernel_size, {stride=kernel_size, padding=0, dilation=1,
  --- ceil_mode=false, return_indices=false}) -> out [, indices]
  F.max_pool1d = tg._max_pool1d
  F.max_pool2d = tg._max_pool2d
  --- avg_pool1d / avg_pool2d(x, kernel_size, {stride=kernel_size, padding=0, ceil_mode=false,
  --- count_include_pad=true, divisor_override=nil (2-D only)})
  F.avg_pool1d = tg._avg_pool1d
  F.avg_pool2d = tg._avg_pool2d
  --- adaptive_avg_pool1d / 2d(x, output_size): a number or {h, w} (nil keeps that size)
  F.adaptive_avg_pool1d = tg._adaptive_avg_pool1d
  F.adaptive_avg_pool2d = tg._adaptive_avg_pool2d
  --- adaptive_max_pool1d / 2d(x, output_size, {return_indices=false}) -> out [, indices]
  F.adaptive_max_pool1d = tg._adaptive_max_pool1d
  F.adaptive_max_pool2d = tg._adaptive_max_pool2d
  --- max_unpool1d / max_unpool2d(x, indices, kernel_size, {stride=kernel_size, padding=0, output_size=})
  --- (indices as the max pools return them, 1-based)
  F.max_unpool1d = tg._max_unpool1d
  F.max_unpool2d = tg._max_unpool2d
  --- lp_pool1d / lp_pool2d(x, norm_type, kernel_size [, stride [, ceil_mode]] | {stride, ceil_mode}):
  --- (sum over each window of x^p)^(1/p), composed as PyTorch's (grad_fn PowBackward0)
  local function lp_pool(n)
    local avg, name = n == 1 and tg._avg_pool1d or tg._avg_pool2d, ("lp_pool%dd"):format(n)
    return tg._entry(function(x, norm_type, kernel_size, stride, ceil_mode)
      if type(stride) == "table" and not tg.is_tensor(stride) and type(next(stride)) == "string" then
        for k in pairs(stride) do
          if k ~= "stride" and k ~= "ceil_mode" then
            error(("%s() got an unexpected keyword argument '%s'"):format(name, tostring(k)))
          end
        end
        stride, ceil_mode = stride.stride, stride.ceil_mode
      end
      if type(norm_type) ~= "number" then
        error(("%s(): argument 'norm_type' must be a number, not %s"):format(name, type(norm_type)))
      end
      local prod = 1
      if type(kernel_size) == "table" then
        for d = 1, n do prod = prod * (kernel_size[d] or kernel_size[1]) end
      elseif type(kernel_size) == "number" then
        prod = kernel_size ^ n
      end
      local out = avg(x:pow(norm_type), kernel_size, {stride = stride, padding = 0, ceil_mode = ceil_mode or false})
      return (out:sign() * out:abs():relu()):mul(prod):pow(1.0 / norm_type)
    end)
  end
  F.lp_pool1d = lp_pool(1)
  F.lp_pool2d = lp_pool(2)
  --- pad(x, pad, {mode="constant"|"reflect"|"replicate"|"circular", value=0}); also
  --- max_unpool1d / max_unpool2d(x, indices, kernel_size, {stride=kernel_size, padding=0, output_size=})
  --- (indices as the max pools return them, 1-based)
  F.max_unpool1d = tg._max_unpool1d
  F.max_unpool2d = tg._max_unpool2d
  --- pad(x, pad, mode, value). pad lists (left, right) pairs from the last dim; negatives crop.
  F.pad = tg._pad
  --- interpolate(x, {size=, scale_factor=, mode="nearest"|"nearest-exact"|"linear"|"bilinear"|
  --- "bicubic"|"trilinear"|"area", align_corners=, recompute_scale_factor=})
  F.interpolate = tg._interpolate
  F.upsample = tg._interpolate -- deprecated alias, as PyTorch
  --- the deprecated upsample_nearest / upsample_bilinear (bilinear: align_corners = true)
  function F.upsample_nearest(x, size, scale_factor)
    return tg._interpolate(x, {size = size, scale_factor = scale_factor, mode = "nearest"})
  end
  function F.upsample_bilinear(x, size, scale_factor)
    return tg._interpolate(x, {size = size, scale_factor = scale_factor, mode = "bilinear", align_corners = true})
  end
end
