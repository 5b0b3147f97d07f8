-- tgrad.nn.functional, convolutions (helper conv): fused C kernels (src/ops/conv.c)
-- with PyTorch's options; grad_fn ConvolutionBackward0. Int-or-tuple options take
-- a number or a table; the options table may also stand in the bias's place.
return function(tg, F)
  --- conv1d(input, weight [, bias [, {stride=1, padding=0, dilation=1, groups=1}]])
  -- input (N, C_in, L) or unbatched (C_in, L); weight (C_out, C_in/groups, kL);
  -- padding: number | {p} | "same" | "valid"
  F.conv1d = tg._conv1d

  --- conv2d(input, weight [, bias [, {stride=1, padding=0, dilation=1, groups=1}]])
  -- input (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_out, C_in/groups, kH, kW);
  -- padding: number | {ph, pw} | "same" | "valid"
  F.conv2d = tg._conv2d

  --- conv_transpose1d(input, weight [, bias [, {stride=1, padding=0, output_padding=0, groups=1, dilation=1}]])
  -- weight (C_in, C_out/groups, kL)
  F.conv_transpose1d = tg._conv_transpose1d

  --- conv_transpose2d(input, weight [, bias [, {stride=1, padding=0, output_padding=0, groups=1, dilation=1}]])
  -- weight (C_in, C_out/groups, kH, kW)
  F.conv_transpose2d = tg._conv_transpose2d
end
