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
