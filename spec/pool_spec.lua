-- pool_spec.lua: max/avg/adaptive pools, F.pad and F.interpolate (helper pool):
-- values and gradients against PyTorch fixtures (tools/gen_pool_fixtures.py),
-- gradcheck / gradgradcheck in float64, PyTorch's error texts (1-based dims).
local tg = require "tgrad"
local fx = require "support.fixtures"
local F = tg.F

describe("pool fixtures", function()
  fx.add_cases(it, fx.load("pool"), {check_grad_fn = true})
end)

-- fn() raises an error at this file's line that holds text exactly (plain find)
local function raises(text, fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert(err:find("^spec/pool_spec%.lua:%d+: ") or err:find("^[^:]*pool_spec%.lua:%d+: "),
    ("error %q does not start with this file's name and line"):format(err))
  assert(err:find(text, 1, true), ("error %q does not contain %q"):format(err, text))
end

local function rn(...) return tg.randn(...) end

describe("pool errors (PyTorch's wording, 1-based dims)", function()
  local x = rn(2, 3, 7, 7)
  local x1 = rn(2, 3, 7)

  it("max_pool2d", function()
    raises("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
      function() return F.max_pool2d(x, 3, {padding = 2}) end)
    raises("pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 3, kH = 3",
      function() return F.max_pool2d(x, 3, {padding = 2, dilation = 2}) end)
    raises("Given input size: (3x1x1). Calculated output size: (3x0x0). Output size is too small",
      function() return F.max_pool2d(rn(3, 1, 1), 2) end)
    raises("stride should not be zero", function() return F.max_pool2d(x, 0) end)
    raises("kernel size should be greater than zero, but got kH: 0 kW: 0",
      function() return F.max_pool2d(x, 0, {stride = 1}) end)
    raises("stride should be greater than zero, but got dH: -1 dW: -1",
      function() return F.max_pool2d(x, 2, {stride = -1}) end)
    raises("pad must be non-negative, but got pad: -1", function() return F.max_pool2d(x, 2, {padding = -1}) end)
    raises("dilation should be greater than zero, but got dilationH: 0 dilationW: 0",
      function() return F.max_pool2d(x, 2, {dilation = 0}) end)
    raises("non-empty 3D or 4D (batch mode) tensor expected for input", function() return F.max_pool2d(rn(3, 3), 2) end)
    raises("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 0, 4, 4]",
      function() return F.max_pool2d(rn(1, 0, 4, 4), 2) end)
    raises("max_pool2d() got an unexpected keyword argument 'strides'",
      function() return F.max_pool2d(x, 2, {strides = 1}) end)
  end)

  it("max_pool1d", function()
    raises("max_pool1d() padding should be at most half of kernel size, but got padding=2 and kernel_size=3",
      function() return F.max_pool1d(x1, 3, {padding = 2}) end)
    raises("max_pool1d() Invalid computed output size: 0", function() return F.max_pool1d(rn(3, 1), 2) end)
    raises("max_pool1d() kernel_size must be greater than zero, but got 0",
      function() return F.max_pool1d(x1, 0, {stride = 1}) end)
    raises("max_pool1d() stride must be greater than zero, but got 0",
      function() return F.max_pool1d(x1, 2, {stride = 0}) end)
    raises("max_pool1d() dilation must be greater than zero, but got 0",
      function() return F.max_pool1d(x1, 2, {dilation = 0}) end)
    raises("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:[5]",
      function() return F.max_pool1d(rn(5), 2) end)
  end)

  it("avg pools", function()
    raises("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
      function() return F.avg_pool2d(x, 3, {padding = 2}) end)
    raises("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1",
      function() return F.avg_pool1d(x1, 3, {padding = 2}) end)
    raises("Given input size: (3x1x1). Calculated output size: (3x1x0). Output size is too small",
      function() return F.avg_pool1d(rn(3, 1), 2) end)
    raises("divisor must be not zero", function() return F.avg_pool2d(x, 2, {divisor_override = 0}) end)
    raises("Dimension out of range (expected to be in range of [-2, 2], but got -3)",
      function() return F.avg_pool2d(rn(3, 3), 2) end)
    raises("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[1, 1, 1, 4, 4]",
      function() return F.avg_pool2d(rn(1, 1, 1, 4, 4), 2) end)
    raises("kernel size should be greater than zero, but got kH: 1 kW: 0",
      function() return F.avg_pool1d(x1, 0, {stride = 1}) end)
    raises("Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while checking arguments for avg_pool1d)",
      function() return F.avg_pool1d(rn(5), 2) end)
    raises("\"avg_pool2d\" not implemented for 'Bool'",
      function() return F.avg_pool2d(tg.zeros(1, 1, 4, 4, {dtype = tg.bool}), 2) end)
  end)

  it("lp pools (errors from the Lua composition name the caller's line)", function()
    -- (not tail calls: a tail call leaves no caller's line to name)
    raises("lp_pool2d() got an unexpected keyword argument 'padding'",
      function() local y = F.lp_pool2d(x, 2, 3, {padding = 1}); return y end)
    raises("Given input size: (3x1x1). Calculated output size: (3x0x0). Output size is too small",
      function() local y = F.lp_pool2d(rn(3, 1, 1), 2, 2); return y end)
  end)

  it("adaptive pools", function()
    raises("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [3, 3]",
      function() return F.adaptive_avg_pool2d(rn(3, 3), 2) end)
    raises("adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 2, 0, 3] with dimension 3 being empty",
      function() return F.adaptive_avg_pool2d(rn(1, 2, 0, 3), 2) end)
    raises("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, -1}",
      function() return F.adaptive_avg_pool2d(x, -1) end)
    raises("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {1, -1}",
      function() return F.adaptive_avg_pool1d(x1, -1) end)
    raises("adaptive_avg_pool2d: output_size must be 2", function() return F.adaptive_avg_pool2d(x, {1, 2, 3}) end)
    raises("adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [5, 5]",
      function() return F.adaptive_max_pool2d(rn(5, 5), 2) end)
    raises("adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 2, 0, 3] with dimension 3 being empty",
      function() return F.adaptive_max_pool2d(rn(1, 2, 0, 3), 2) end)
    raises("Trying to create tensor with negative dimension -1: [2, 3, -1, -1]",
      function() return F.adaptive_max_pool2d(x, -1) end)
    raises("Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' (while checking arguments for adaptive_max_pool1d)",
      function() return F.adaptive_max_pool1d(rn(1, 2, 5, 5), 2) end)
  end)

  it("max_unpool", function()
    local y, i = F.max_pool2d(tg.arange(0.0, 16.0):view(1, 1, 4, 4), 2, {return_indices = true})
    raises("Found an invalid max index: 106 (output volumes are of size 4x4)",
      function() return F.max_unpool2d(y, i + 100, 2) end)
    raises("invalid output_size \"(9, 9)\" (dim 1 must be between 2 and 6)",
      function() return F.max_unpool2d(y, i, 2, {output_size = {9, 9}}) end)
    raises("output_size should be a sequence containing 2 or 4 elements, but it has a length of '3'",
      function() return F.max_unpool2d(y, i, 2, {output_size = {1, 2, 3}}) end)
    raises("elements in indices should be type int64 but got: Float",
      function() return F.max_unpool2d(y, i:float(), 2) end)
    raises("Expected shape of indices to be same as that of the input tensor ([1, 1, 2, 2]) but got indices tensor with shape: [1, 2, 2]",
      function() return F.max_unpool2d(y, i[1], 2) end)
    raises("Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with 2 dimensions.",
      function() return F.max_unpool2d(y[1][1], i[1][1], 2) end)
    assert.are.same({1, 1, 5, 5}, F.max_unpool2d(y, i, 2, {output_size = {1, 1, 5, 5}}).shape)
  end)

  it("pad", function()
    raises("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (3, 3) at dimension 3 of input [1, 1, 3]",
      function() return F.pad(rn(1, 1, 3), {3, 3}, "reflect") end)
    raises("Argument #6: Padding size should be less than the corresponding input dimension, but got: padding (0, 3) at dimension 3 of input [1, 1, 3, 3]",
      function() return F.pad(rn(1, 1, 3, 3), {0, 0, 0, 3}, "reflect") end)
    raises("Argument #8: Padding size should be less than the corresponding input dimension, but got: padding (3, 0) at dimension 3 of input [1, 1, 3, 3, 3]",
      function() return F.pad(rn(1, 1, 3, 3, 3), {0, 0, 0, 0, 3, 0}, "reflect") end)
    raises("Padding size 2 is not supported for 4D input tensor.\nSupported combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)",
      function() return F.pad(x, {1, 1}, "reflect") end)
    raises("Padding size 2 is not supported for 1D input tensor.", function() return F.pad(rn(3), {1, 1}, "replicate") end)
    raises("Padding value causes wrapping around more than once.",
      function() return F.pad(rn(1, 1, 3), {4, 4}, "circular") end)
    raises("input (W: 3) is too small. Calculated output W: 0",
      function() return F.pad(rn(1, 1, 3), {-2, -1}, "replicate") end)
    raises("Calculated output H: 0 W: 3 must be >= 1 in every dimension (input H: 3, W: 3)",
      function() return F.pad(rn(1, 1, 3, 3), {0, 0, -2, -1}, "reflect") end)
    raises("Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: [1, 1, 0]",
      function() return F.pad(rn(1, 1, 0), {1, 1}, "reflect") end)
    raises("Padding length must be divisible by 2", function() return F.pad(rn(3, 3), {1, 1, 1}) end)
    raises("Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2",
      function() return F.pad(rn(3, 3), {1, 1, 1, 1, 1, 1}) end)
    raises("narrow(): length must be non-negative.", function() return F.pad(rn(1, 1, 3), {-4, 1}) end)
    raises("Unrecognised padding mode foo", function() return F.pad(x, {1, 1}, "foo") end)
    raises("Padding mode \"reflect\" doesn't take in value argument",
      function() return F.pad(x, {1, 1, 1, 1}, {mode = "reflect", value = 1}) end)
  end)

  it("interpolate", function()
    raises("align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear",
      function() return F.interpolate(x, {size = {4, 5}, align_corners = true}) end)
    raises("only one of size or scale_factor should be defined",
      function() return F.interpolate(x, {size = {4, 5}, scale_factor = 2}) end)
    raises("either size or scale_factor should be defined", function() return F.interpolate(x) end)
    raises("Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of [7, 7] and output size of (4, 5, 6). Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.",
      function() return F.interpolate(x, {size = {4, 5, 6}}) end)
    raises("Input and scale_factor must have the same number of spatial dimensions, but got input with spatial dimensions of [7, 7] and scale_factor of shape (2, 3, 4).",
      function() return F.interpolate(x, {scale_factor = {2, 3, 4}, mode = "bilinear"}) end)
    raises("Got 4D input, but linear mode needs 3D input",
      function() return F.interpolate(x, {scale_factor = 2, mode = "linear"}) end)
    raises("Got 3D input, but bicubic mode needs 4D input",
      function() return F.interpolate(x1, {scale_factor = 2, mode = "bicubic"}) end)
    raises("Got 3D input, but bilinear mode needs 4D input",
      function() return F.interpolate(x1, {scale_factor = 2, mode = "bilinear"}) end)
    raises("Input and output sizes should be greater than 0, but got input (H: 7, W: 7) output (H: 0, W: 0)",
      function() return F.interpolate(x, {scale_factor = 0.1, mode = "bilinear"}) end)
    raises("Input and output sizes should be greater than 0, but got input (W: 7) output (W: 0)",
      function() return F.interpolate(x1, {size = 0}) end)
    raises("Input Error: Only 3D, 4D and 5D input Tensors supported (got 4D) for the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got foo)",
      function() return F.interpolate(x, {scale_factor = 2, mode = "foo"}) end)
  end)
end)

describe("pool autograd", function()
  local gc, ggc = tg.autograd.gradcheck, tg.autograd.gradgradcheck
  -- distinct values far apart (no ties in a max window), float64
  local function distinct(...)
    local n = 1
    for _, s in ipairs({...}) do n = n * s end
    local perm = tg.randperm and tg.randperm(n) or tg.arange(0, n)
    local v = perm:double() * 0.1 + tg.rand(n, {dtype = tg.float64}) * 0.01
    return v:view(...):detach():requires_grad_(true)
  end

  it("gradgradcheck: max pools (scatter by saved indices, differentiable)", function()
    local x = distinct(1, 2, 5, 6)
    assert.is_true(ggc(function(t) return F.max_pool2d(t, 3, {stride = 2, padding = 1}) end, {x}))
    assert.is_true(ggc(function(t) return F.adaptive_max_pool2d(t, {2, 4}) end, {x}))
    assert.is_true(ggc(function(t) return F.max_pool1d(t[1], 2, {ceil_mode = true}) end, {x}))
    local _, i = F.max_pool2d(x, 2, {return_indices = true})
    local y = tg.randn(1, 2, 2, 3, {dtype = tg.float64, requires_grad = true})
    assert.is_true(ggc(function(t) return F.max_unpool2d(t, i, 2, {output_size = {5, 6}}) end, {y}))
  end)

  it("gradgradcheck: avg pools, pads, interpolate", function()
    local x = tg.randn(2, 2, 5, 6, {dtype = tg.float64, requires_grad = true})
    assert.is_true(ggc(function(t) return F.avg_pool2d(t, 3, {stride = 2, padding = 1, ceil_mode = true}) end, {x}))
    assert.is_true(ggc(function(t) return F.adaptive_avg_pool2d(t, {4, 4}) end, {x}))
    assert.is_true(ggc(function(t) return F.pad(t, {2, -1, 1, 3}, "reflect") end, {x}))
    assert.is_true(ggc(function(t) return F.pad(t, {2, 1, 1, 2}, "replicate") end, {x}))
    assert.is_true(ggc(function(t) return F.pad(t, {2, 1, -1, 2}, "circular") end, {x}))
    assert.is_true(ggc(function(t) return F.pad(t, {2, 1, -1, 2}, {value = 0.5}) end, {x}))
    assert.is_true(ggc(function(t) return F.interpolate(t, {size = {7, 4}, mode = "bilinear"}) end, {x}))
    assert.is_true(ggc(function(t) return F.interpolate(t, {scale_factor = 1.5}) end, {x}))
    assert.is_true(ggc(function(t) return F.interpolate(t, {size = {3, 8}, mode = "bicubic", align_corners = true}) end, {x}))
  end)

  it("second-order graphs carry PyTorch's double-backward names", function()
    local x = tg.randn(1, 1, 4, 4, {dtype = tg.float64, requires_grad = true})
    local y = F.avg_pool2d(x, 2)
    local g = tg.randn(1, 1, 2, 2, {dtype = tg.float64, requires_grad = true})
    local gx = tg.autograd.grad({y}, {x}, {g}, {create_graph = true})[1]
    assert.are.equal("AvgPool2DBackwardBackward0", gx.grad_fn.name)
    y = F.pad(x, {1, 1, 1, 1}, "reflect")
    g = tg.randn(1, 1, 6, 6, {dtype = tg.float64, requires_grad = true})
    gx = tg.autograd.grad({y}, {x}, {g}, {create_graph = true})[1]
    assert.are.equal("ReflectionPad2DBackwardBackward0", gx.grad_fn.name)
  end)

  it("gradcheck of the 1-D, 3-D and unbatched forms", function()
    local x = tg.randn(2, 3, 7, {dtype = tg.float64, requires_grad = true})
    assert.is_true(gc(function(t) return F.avg_pool1d(t, 3, {stride = 2, padding = 1, count_include_pad = false}) end, {x}))
    assert.is_true(gc(function(t) return F.adaptive_avg_pool1d(t, 3) end, {x}))
    assert.is_true(gc(function(t) return F.interpolate(t, {size = 11, mode = "linear", align_corners = true}) end, {x}))
    local v = tg.randn(1, 2, 3, 3, 2, {dtype = tg.float64, requires_grad = true})
    assert.is_true(gc(function(t) return F.interpolate(t, {size = {4, 2, 3}, mode = "trilinear"}) end, {v}))
    assert.is_true(gc(function(t) return F.pad(t, {1, 1, 1, 1, 1, 1}, "reflect") end, {v}))
    assert.is_true(gc(function(t) return F.pad(t, {1, 1, 1, 1, 1, 1}, "replicate") end, {v}))
  end)
end)

describe("pool edge cases", function()
  it("empty batches pool to empty outputs, and backward gives zeros of the input's shape", function()
    local x = tg.randn(0, 2, 4, 4, {requires_grad = true})
    local y, i = F.max_pool2d(x, 2, {return_indices = true})
    assert.are.same({0, 2, 2, 2}, y.shape)
    assert.are.same({0, 2, 2, 2}, i.shape)
    y:sum():backward()
    assert.are.same({0, 2, 4, 4}, x.grad.shape)
    assert.are.same({0, 2, 2, 2}, F.avg_pool2d(x, 2).shape)
    assert.are.same({0, 2, 6, 6}, F.pad(x, {1, 1, 1, 1}, "reflect").shape)
    local z = tg.randn(1, 2, 3, 3, {requires_grad = true})
    local a = F.adaptive_avg_pool2d(z, {0, 2})
    assert.are.same({1, 2, 0, 2}, a.shape)
    -- PyTorch refuses the backward of an empty adaptive output (test_adaptive_pooling_empty_output_size)
    raises("adaptive_avg_pool2d_backward(): Expected grad_output to have non-zero size for non-batch dimensions, but grad_output has sizes [1, 2, 0, 2] with dimension 3 being empty",
      function() a:sum():backward() end)
    raises("adaptive_max_pool2d_backward(): Expected grad_output to have non-zero size for non-batch dimensions, but grad_output has sizes [1, 2, 0, 0] with dimension 3 being empty",
      function() F.adaptive_max_pool2d(z, 0):sum():backward() end)
    raises("adaptive_avg_pool2d_backward(): Expected grad_output to have non-zero size for non-batch dimensions, but grad_output has sizes [2, 3, 1, 0] with dimension 4 being empty",
      function() F.adaptive_avg_pool1d(z[1], 0):sum():backward() end)
    -- max_unpool of an empty batch (test_MaxUnpool_zero_batch_dim)
    local e = tg.randn(0, 10, 10, 10, {requires_grad = true})
    local o, i = F.max_pool2d(e, 2, {return_indices = true})
    local u = F.max_unpool2d(o, i, 2)
    assert.are.same({0, 10, 10, 10}, u.shape)
    u:sum():backward()
    assert.are.same({0, 10, 10, 10}, e.grad.shape)
  end)

  it("max pools of int64 inputs, NaN wins a window, indices are PyTorch's + 1", function()
    local x = tg.tensor({{{1, 5, 2, 0}, {3, 4, 9, 8}}}, {dtype = tg.int64})
    local y, i = F.max_pool2d(x, 2, {return_indices = true})
    assert.are.same({{{5, 9}}}, y:tolist())
    assert.are.same({{{2, 7}}}, i:tolist())
    local n = tg.tensor({{{1.0, 0 / 0, 2.0, 7.0}}})
    local v, j = F.max_pool1d(n, 2, {return_indices = true})
    assert.is_true(v:tolist()[1][1][1] ~= v:tolist()[1][1][1])
    assert.are.same({{{2, 4}}}, j:tolist())
  end)

  it("an empty pad list copies (ConstantPadNdBackward0)", function()
    local x = tg.randn(2, 2, {requires_grad = true})
    local y = F.pad(x, {})
    assert.are.equal("ConstantPadNdBackward0", y.grad_fn.name)
    y:sum():backward()
    assert.are.same({{1, 1}, {1, 1}}, x.grad:tolist())
  end)

  it("constant pad keeps int64 and bool dtypes", function()
    local y = F.pad(tg.tensor({1, 2, 3}), {1, 2}, {value = 7})
    assert.are.equal(tg.int64, y.dtype)
    assert.are.same({7, 1, 2, 3, 7, 7}, y:tolist())
    assert.are.same({false, true, false}, F.pad(tg.tensor({true}), {1, 1}):tolist())
  end)

  it("F.upsample is F.interpolate; the deprecated upsample_bilinear aligns corners", function()
    assert.are.equal(F.interpolate, F.upsample)
    local x = tg.arange(0.0, 4.0):view(1, 1, 2, 2)
    assert.are.same(F.interpolate(x, {size = {3, 3}, mode = "bilinear", align_corners = true}):tolist(),
      F.upsample_bilinear(x, {3, 3}):tolist())
  end)

  it("no graph without grad: the backward in no_grad mode uses the fused kernels", function()
    local x = tg.randn(2, 3, 8, 8, {requires_grad = true})
    local y = F.max_pool2d(x, 3, {stride = 2, padding = 1})
    local g = tg.randn(table.unpack(y.shape))
    local gx = tg.autograd.grad({y}, {x}, {g})[1]
    assert.is_nil(gx.grad_fn)
    local gx2 = tg.autograd.grad({F.max_pool2d(x, 3, {stride = 2, padding = 1})}, {x}, {g}, {create_graph = true})[1]
    assert.is_true((gx - gx2):abs():max():item() < 1e-6)
  end)
end)

describe("pool output-size rule (shape sweep against PyTorch)", function()
  local fix = fx.load("pool")
  it("max_pool2d and avg_pool2d over sizes, kernels, strides, paddings, dilations, ceil_mode", function()
    local inputs = {}
    for i, spec in ipairs(fix.sweep_inputs) do inputs[i] = fx.build(spec) end
    local n = 0
    for _, e in ipairs(fix.sweep) do
      local x = inputs[e.input]
      local what = ("input %d k=%d s=%d p=%d d=%d ceil=%s"):format(e.input, e.k, e.s, e.p, e.d, tostring(e.ceil))
      local y = F.max_pool2d(x, e.k, {stride = e.s, padding = e.p, dilation = e.d, ceil_mode = e.ceil})
      assert.are.same(e.max_shape, y.shape, what)
      assert(math.abs(y:sum():item() - e.max_sum) < 1e-9, what)
      if e.avg_shape then
        for _, cip in ipairs({true, false}) do
          local a = F.avg_pool2d(x, e.k, {stride = e.s, padding = e.p, ceil_mode = e.ceil, count_include_pad = cip})
          assert.are.same(e.avg_shape, a.shape, what)
          local want = cip and e.avg_sum_cip or e.avg_sum_nocip
          assert(math.abs(a:sum():item() - want) < 1e-9, what .. " avg cip=" .. tostring(cip))
        end
      end
      n = n + 1
    end
    assert(n > 200)
  end)

  it("all -inf windows keep their first element's index; the last NaN of a window wins", function()
    local y, i = F.max_pool2d(tg.full({1, 1, 4, 5}, -math.huge), 3, {stride = 2, padding = 1, return_indices = true})
    assert.are.same({{{{-math.huge, -math.huge, -math.huge}, {-math.huge, -math.huge, -math.huge}}}}, y:tolist())
    assert.are.same({{{{1, 2, 4}, {6, 7, 9}}}}, i:tolist())
    local n = tg.tensor({{{1.0, 0 / 0, 3.0, 0 / 0, 5.0}}})
    local _, j = F.max_pool1d(n, 3, {stride = 1, padding = 1, return_indices = true})
    assert.are.same({{{2, 2, 4, 4, 4}}}, j:tolist())
    local _, k = F.adaptive_max_pool1d(n, 2, {return_indices = true})
    assert.are.same({{{2, 4}}}, k:tolist())
  end)

  it("threads split planes without changing results", function()
    local prev = tg.get_num_threads()
    local x = tg.randn(4, 16, 33, 31, {requires_grad = true})
    local function run()
      local y1, i1 = F.max_pool2d(x, 3, {stride = 2, padding = 1, return_indices = true})
      local y2 = F.avg_pool2d(x, 3, {stride = 2, padding = 1})
      local y3 = F.interpolate(x, {scale_factor = 2, mode = "bilinear"})
      local y4 = F.pad(x, {2, 2, 2, 2}, "reflect")
      local s = y1:sum() + y2:sum() + y3:sum() + y4:sum()
      local g = tg.autograd.grad({s}, {x})[1]
      return {y1, i1, y2, y3, y4, g}
    end
    tg.set_num_threads(1)
    local a = run()
    tg.set_num_threads(2)
    local b = run()
    tg.set_num_threads(prev)
    for k = 1, #a do assert.is_true(a[k]:eq(b[k]):all():item(), "result " .. k) end
  end)
end)

describe("pool arguments", function()
  it("take PyTorch's positional order as well as options", function()
    local x = tg.randn(2, 3, 9, 8)
    local a = F.max_pool2d(x, 3, 2, 1, 1, true)
    local b = F.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true})
    assert.are.same(b:tolist(), a:tolist())
    local _, i = F.max_pool2d(x, 2, nil, 0, 1, false, true)
    assert.are.same({2, 3, 4, 4}, i.shape)
    assert.are.same(F.avg_pool2d(x, {3, 2}, {2, 1}, {1, 0}, false, false):tolist(),
      F.avg_pool2d(x, {3, 2}, {stride = {2, 1}, padding = {1, 0}, count_include_pad = false}):tolist())
    assert.are.same(F.max_pool2d(x, 2, {}):tolist(), F.max_pool2d(x, 2):tolist()) -- stride = [] is the kernel
    raises("max_pool2d() got multiple values for argument 'stride'", function() return F.max_pool2d(x, 2, 2, {stride = 1}) end)
    raises("max_pool2d(): argument 'kernel_size' must be an integer or a table of 2 integers, got a table of 3",
      function() return F.max_pool2d(x, {1, 2, 3}) end)
  end)

  it("max_pool1d corner cases of PyTorch's test_max_pool1d_corner_cases", function()
    local function mp(t, k, s, p, d, ceil) return F.max_pool1d(tg.tensor(t), k, s, p, d, ceil):tolist() end
    assert.are.same({{1.0}}, mp({{1.0}}, 1, nil, 0, 1, false))
    assert.are.same({{-math.huge}}, mp({{1.0}}, 2, nil, 1, 2, false))
    assert.are.same({{-math.huge}, {-math.huge}}, mp({{1.0}, {1.0}}, 2, nil, 1, 2, false))
    assert.are.same({{2.0, 1.0}}, mp({{1.0, 2.0}}, 2, 1, 1, 2, false))
    assert.are.same({{2.0, 2.0}}, mp({{1.0, 2.0}}, 2, 2, 1, 2, true))
    local x = tg.tensor({{1.0}}, {requires_grad = true})
    F.max_pool1d(x, 2, {padding = 1, dilation = 2}):sum():backward()
    assert.are.same({{0.0}}, x.grad:tolist())
  end)
end)

describe("pool cases ported from PyTorch's test/nn/test_pooling.py", function()
  -- the window sums of an unbatched (1, n, m) tensor, kernel (i, j), stride = kernel
  local function sum_pool(x, i, j)
    local t = x:tolist()[1]
    local out = {}
    for a = 1, math.floor(#t / i) do
      out[a] = {}
      for b = 1, math.floor(#t[1] / j) do
        local s = 0
        for u = (a - 1) * i + 1, a * i do
          for v = (b - 1) * j + 1, b * j do s = s + t[u][v] end
        end
        out[a][b] = s
      end
    end
    return out
  end
  local function near(got, want, tol)
    for a = 1, #want do
      for b = 1, #want[a] do
        assert(math.abs(got[1][a][b] - want[a][b]) <= tol, ("[%d][%d]: %s vs %s"):format(a, b, got[1][a][b], want[a][b]))
      end
    end
  end

  it("test_doubletensor_avg_pool2d (every kernel size) and _with_divisor", function()
    local x = tg.rand(1, 5, 8, {dtype = tg.float64})
    for i = 1, 5 do
      for j = 1, 8 do
        local s = sum_pool(x, i, j)
        for a = 1, #s do for b = 1, #s[a] do s[a][b] = s[a][b] / (i * j) end end
        near(F.avg_pool2d(x, {i, j}):tolist(), s, 1e-12)
      end
    end
    local y = tg.rand(1, 3, 3, {dtype = tg.float64})
    for i = 1, 3 do
      for j = 1, 3 do
        for _, divisor in ipairs({1, 7, i * j}) do
          local s = sum_pool(y, i, j)
          for a = 1, #s do for b = 1, #s[a] do s[a][b] = s[a][b] / divisor end end
          near(F.avg_pool2d(y, {i, j}, {divisor_override = divisor}):tolist(), s, 1e-12)
        end
      end
    end
  end)

  it("test_avg_pool1d_ceil_mode / test_avg_pool2d_ceil_mode: no NaN from windows past the end (gh-36977)", function()
    local y1 = F.avg_pool1d(tg.randn(1, 16, 4) * 10, 1, {ceil_mode = true, count_include_pad = true, stride = 2})
    assert.is_false(y1:ne(y1):any():item())
    local y2 = F.avg_pool2d(tg.randn(1, 16, 4, 4) * 10, {1, 2},
      {ceil_mode = true, count_include_pad = true, padding = {0, 1}, stride = 2})
    assert.is_false(y2:ne(y2):any():item())
  end)

  it("test_adaptive_pooling_size_none and test_adaptive_pooling_size_overflow", function()
    local x = tg.randn(4, 4, 4)
    assert.are.same({4, 2, 4}, F.adaptive_max_pool2d(x, {2, nil}).shape)
    assert.are.same({4, 2, 4}, F.adaptive_avg_pool2d(x, {2, nil}).shape)
    raises("Storage size calculation overflowed",
      function() local y = F.adaptive_max_pool1d(tg.empty(2, 2, 2), 0x3FFFFFFFFFFFFFFF); return y end)
    raises("Storage size calculation overflowed",
      function() local y = F.interpolate(tg.empty(2, 2, 2), {size = 0x3FFFFFFFFFFFFFFF}); return y end)
    raises("Storage size calculation overflowed",
      function() local y = F.interpolate(tg.empty(2, 2, 2), {scale_factor = 1e300}); return y end)
  end)

  it("test_MaxUnpool2d_output_size", function()
    local big = tg.rand(1, 1, 6, 6)
    big[{1, 1, 5, 5}] = 100
    local ob, ib = F.max_pool2d(big, 3, {stride = 2, return_indices = true})
    raises("Found an invalid max index", function() local y = F.max_unpool2d(ob, ib, 3, {stride = 2}); return y end)
    local small = tg.rand(1, 1, 5, 5)
    for i = 1, 3, 2 do for j = 1, 3, 2 do small[{1, 1, i, j}] = 100 end end
    local os, is = F.max_pool2d(small, 3, {stride = 2, return_indices = true})
    for h = 3, 9 do
      for w = 3, 9 do
        if h >= 4 and h <= 6 and w >= 4 and w <= 6 then
          local size = h == 6 and {1, 1, h, w} or {h, w}
          assert.are.same({1, 1, h, w}, F.max_unpool2d(os, is, 3, {stride = 2, output_size = size}).shape)
        else
          raises("invalid output_size", function() local y = F.max_unpool2d(os, is, 3, 2, 0, {h, w}); return y end)
        end
      end
    end
  end)
end)

describe("more of test_pooling.py", function()
  it("test_pooling_shape (1-D and 2-D, max and avg) and issue 45357", function()
    local function check(want, sizes, k, s, p, ceil)
      for _, kind in ipairs({"max", "avg"}) do
        for i = 1, 2 do
          local sz = {table.unpack(sizes, 1, i + 2)}
          local y = F[kind .. "_pool" .. i .. "d"](tg.randn(sz), k, {stride = s, padding = p, ceil_mode = ceil})
          assert.are.same({table.unpack(want, 1, i + 2)}, y.shape, kind .. i)
        end
      end
    end
    check({1, 1, 3, 3}, {1, 1, 5, 6}, 1, 2, 0, true)
    check({1, 1, 2, 3}, {1, 1, 3, 4}, 2, 2, 1, false)
    check({1, 1, 2, 3}, {1, 1, 3, 4}, 2, 2, 1, true)
    assert.are.same({1, 1, 3, 4}, F.max_pool2d(tg.randn(1, 1, 6, 7), 1, {stride = {2, 2}, padding = 0, ceil_mode = true}).shape)
  end)

  it("test_max_pool2d_corner_cases (int64) and test_adaptive_pooling_no_suppot_input", function()
    local x = tg.tensor({{{{-1, -2}, {-3, -4}}}})
    assert.are.same({{{{-4, -4}, {-4, -4}}}}, F.max_pool2d(x, 2, 2, 1, 2, true):tolist())
    local l = tg.ones(4, 4, 4, {dtype = tg.int64})
    raises("\"adaptive_max_pool2d\" not implemented for 'Long'", function() local y = F.adaptive_max_pool2d(l, 2); return y end)
    raises("\"adaptive_avg_pool2d\" not implemented for 'Long'", function() local y = F.adaptive_avg_pool2d(l, 2); return y end)
    raises("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input",
      function() local y = F.avg_pool2d(tg.randn(16, 0, 20, 32), 3, {stride = 2}); return y end)
  end)

  it("test_max_pool1d: values without indices equal those with (random settings, non-contiguous)", function()
    for _ = 1, 20 do
      local n, c, l = math.random(1, 3), math.random(1, 4), math.random(8, 40)
      local k, s, d = math.random(1, 4), math.random(1, 4), math.random(1, 4)
      local p = math.random(0, k // 2)
      local ceil = math.random() < 0.5
      local x = tg.randn(n, c, l)
      local ok, a = pcall(F.max_pool1d, x, k, s, p, d, ceil)
      if ok then
        local b = F.max_pool1d(x, k, s, p, d, ceil, true)
        assert.are.same(b:tolist(), a:tolist())
      end
    end
    local t = tg.randn(5, 151, 33)[{{1, 5}, {}, {}}]:transpose(2, 3)
    local a = F.max_pool1d(t, 3, 2, 1, 2, true)
    local b = F.max_pool1d(t:contiguous(), 3, 2, 1, 2, true, true)
    assert.are.same(b:tolist(), a:tolist())
  end)
end)
