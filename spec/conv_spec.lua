-- conv_spec.lua: F.conv1d, F.conv2d, F.conv_transpose1d, F.conv_transpose2d (helper conv).
-- Values and gradients against PyTorch fixtures (spec/fixtures/conv.lua, written by
-- tools/gen_conv_fixtures.py), in float64 and float32, with non-contiguous inputs;
-- gradcheck in float64 for every case, gradgradcheck for some; cases ported from
-- PyTorch's test/nn/test_convolution.py; PyTorch's error messages.
local tg = require "tgrad"
local fx = require "support.fixtures"
local F = tg.F

local cases = fx.load("conv")

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

-- the same values in a non-contiguous layout (dims 1 and 2 swapped in memory)
local function noncontig(t)
  if t:dim() < 2 then return t end
  return t:transpose(1, 2):contiguous():transpose(1, 2)
end

local function build(case, dtype, requires_grad)
  local x, w = fx.build(case.input), fx.build(case.weight)
  local b = case.bias and fx.build(case.bias)
  if dtype then
    x, w, b = x:to(dtype), w:to(dtype), b and b:to(dtype)
  end
  if requires_grad then
    x:requires_grad_(true); w:requires_grad_(true)
    if b then b:requires_grad_(true) end
  end
  return x, w, b
end

local function check_grads(case, x, w, b, tol)
  if numel(case.input.shape) > 0 then fx.check_tensor("grad input", x.grad, case.grad_input, tol) end
  if numel(case.weight.shape) > 0 then fx.check_tensor("grad weight", w.grad, case.grad_weight, tol) end
  if b then fx.check_tensor("grad bias", b.grad, case.grad_bias, tol) end
end

local function cast(spec, dtype)
  return {shape = spec.shape, data = spec.data, dtype = dtype}
end

describe("convolution against PyTorch", function()
  for _, case in ipairs(cases) do
    local f = F[case.fn]
    it(case.name .. ": values, grad_fn and gradients (float64)", function()
      local x, w, b = build(case, nil, true)
      local y = f(x, w, b, case.opts)
      fx.check_tensor("output", y, case.out, 1e-10)
      assert.are.equal(case.grad_fn, y.grad_fn.name)
      y:backward(fx.build(case.grad_out))
      check_grads(case, x, w, b, 1e-10)
    end)

    it(case.name .. ": non-contiguous input, weight and grad_output", function()
      local x, w, b = build(case, nil, true)
      local y = f(noncontig(x), noncontig(w), b, case.opts)
      fx.check_tensor("output", y, case.out, 1e-10)
      y:backward(noncontig(fx.build(case.grad_out)))
      check_grads(case, x, w, b, 1e-10)
    end)

    it(case.name .. ": float32", function()
      local x, w, b = build(case, tg.float32, true)
      local y = f(x, w, b, case.opts)
      fx.check_tensor("output", y, cast(case.out, "float32"), 1e-4)
      y:backward(fx.build(case.grad_out):float())
      if numel(case.input.shape) > 0 then fx.check_tensor("grad input", x.grad, cast(case.grad_input, "float32"), 1e-4) end
      if numel(case.weight.shape) > 0 then
        fx.check_tensor("grad weight", w.grad, cast(case.grad_weight, "float32"), 1e-4)
      end
      if b then fx.check_tensor("grad bias", b.grad, cast(case.grad_bias, "float32"), 1e-4) end
    end)

    it(case.name .. ": gradcheck (float64)", function()
      local x, w, b = build(case, nil, true)
      local inputs = b and {x, w, b} or {x, w}
      assert.is_true(tg.autograd.gradcheck(function(xx, ww, bb) return f(xx, ww, bb, case.opts) end, inputs))
    end)
  end

  local gg = {
    ["conv2d padding same, even kernel (asymmetric)"] = true, ["conv2d batch 1"] = true,
    ["conv2d 1x1 (no im2col)"] = true, ["conv2d unbatched"] = true, ["conv1d depthwise groups 3"] = true,
    ["conv_transpose2d pairs"] = true, ["conv_transpose1d stride 2 padding 1 output_padding 1"] = true,
    ["conv_transpose1d no bias"] = true,
  }
  for _, case in ipairs(cases) do
    if gg[case.name] then
      it(case.name .. ": gradgradcheck (float64)", function()
        local x, w, b = build(case, nil, true)
        local f = F[case.fn]
        local inputs = b and {x, w, b} or {x, w}
        assert.is_true(tg.autograd.gradgradcheck(function(xx, ww, bb) return f(xx, ww, bb, case.opts) end, inputs))
      end)
    end
  end
end)

describe("convolution properties", function()
  local D = {dtype = tg.float64}
  local function randn(...)
    local a = {...}
    a[#a + 1] = D
    return tg.randn(table.unpack(a))
  end

  it("conv_transpose is the adjoint of conv: <conv(x, w), y> = <conv_transpose(y, w), x>", function()
    tg.manual_seed(7)
    for _, p in ipairs({{s = 1, p = 0, d = 1, g = 1}, {s = 2, p = 1, d = 1, g = 1}, {s = 3, p = 2, d = 2, g = 2},
                        {s = 2, p = 0, d = 3, g = 4}, {s = {2, 1}, p = {0, 2}, d = {1, 2}, g = 1}}) do
      local x, w = randn(2, 4, 11, 9), randn(4, 4 // p.g, 3, 2)
      local y = F.conv2d(x, w, nil, {stride = p.s, padding = p.p, dilation = p.d, groups = p.g})
      local r = randn(table.unpack(y.shape))
      -- output_padding so that conv_transpose gives x's size back
      local op = {}
      for i = 1, 2 do
        local s = type(p.s) == "table" and p.s[i] or p.s
        local pp = type(p.p) == "table" and p.p[i] or p.p
        local d = type(p.d) == "table" and p.d[i] or p.d
        local full = (y.shape[2 + i] - 1) * s - 2 * pp + d * (w.shape[2 + i] - 1) + 1
        op[i] = x.shape[2 + i] - full
      end
      local xt = F.conv_transpose2d(r, w, nil, {stride = p.s, padding = p.p, dilation = p.d, groups = p.g,
                                                output_padding = op})
      assert.are.same(x.shape, xt.shape)
      local lhs, rhs = (y * r):sum():item(), (xt * x):sum():item()
      assert.is_true(math.abs(lhs - rhs) <= 1e-9 * (1 + math.abs(lhs)), lhs .. " vs " .. rhs)
    end
  end)

  -- a direct loop over the definition, for random geometries on both kernel paths
  -- (samples batched into one GEMM below 128 output positions, one GEMM per sample above)
  local function naive_conv2d(x, w, b, s, p, d, g)
    local X, W = x:tolist(), w:tolist()
    local N, C, H, Wd = table.unpack(x.shape)
    local O, Cg, KH, KW = table.unpack(w.shape)
    local OH = (H + 2 * p[1] - d[1] * (KH - 1) - 1) // s[1] + 1
    local OW = (Wd + 2 * p[2] - d[2] * (KW - 1) - 1) // s[2] + 1
    local B = b and b:tolist()
    local out = {}
    for n = 1, N do
      out[n] = {}
      for o = 1, O do
        local grp = (o - 1) // (O // g)
        local plane = {}
        for i = 1, OH do
          local row = {}
          for j = 1, OW do
            local acc = B and B[o] or 0
            for c = 1, Cg do
              local ci = grp * Cg + c
              for ki = 1, KH do
                local y = (i - 1) * s[1] - p[1] + (ki - 1) * d[1]
                if y >= 0 and y < H then
                  for kj = 1, KW do
                    local xx = (j - 1) * s[2] - p[2] + (kj - 1) * d[2]
                    if xx >= 0 and xx < Wd then acc = acc + W[o][c][ki][kj] * X[n][ci][y + 1][xx + 1] end
                  end
                end
              end
            end
            row[j] = acc
          end
          plane[i] = row
        end
        out[n][o] = plane
      end
    end
    return tg.tensor(out, D)
  end

  it("random geometries against a direct loop over the definition", function()
    tg.manual_seed(11)
    local rnd = math.random
    math.randomseed(11)
    for _ = 1, 24 do
      local g = ({1, 1, 2, 3})[rnd(4)]
      local C, O = g * rnd(1, 2), g * rnd(1, 2)
      local KH, KW = rnd(1, 3), rnd(1, 3)
      local s, d, p = {rnd(1, 3), rnd(1, 2)}, {rnd(1, 2), rnd(1, 2)}, {rnd(0, 2), rnd(0, 1)}
      local H = math.max(d[1] * (KH - 1) + 1 - 2 * p[1], rnd(3, 14))
      local Wd = math.max(d[2] * (KW - 1) + 1 - 2 * p[2], rnd(3, 14))
      local N = rnd(1, 3)
      local x, w, b = randn(N, C, H, Wd), randn(O, C // g, KH, KW), rnd(2) == 1 and randn(O) or nil
      local got = F.conv2d(x, w, b, {stride = s, padding = p, dilation = d, groups = g})
      local want = naive_conv2d(x, w, b, s, p, d, g)
      assert.are.same(want.shape, got.shape)
      assert.is_true((got - want):abs():max():item() < 1e-10)
    end
  end)

  -- test_convolution.py test_Conv2d_groups_nobias: a grouped conv is the groups' convs side by side
  it("groups: equal to the per-group convolutions concatenated (values and gradients)", function()
    tg.manual_seed(123)
    local i = tg.randn(2, 4, 6, 6, {requires_grad = true})
    local w = tg.randn(16, 2, 3, 3, {requires_grad = true})
    local go = tg.randn(2, 16, 4, 4)
    local out = F.conv2d(i, w, nil, {groups = 2})
    out:backward(go)
    local i1 = i:detach():narrow(2, 1, 2):contiguous():requires_grad_()
    local i2 = i:detach():narrow(2, 3, 2):contiguous():requires_grad_()
    local w1 = w:detach():narrow(1, 1, 8):contiguous():requires_grad_()
    local w2 = w:detach():narrow(1, 9, 8):contiguous():requires_grad_()
    local o1, o2 = F.conv2d(i1, w1), F.conv2d(i2, w2)
    o1:backward(go:narrow(2, 1, 8):contiguous())
    o2:backward(go:narrow(2, 9, 8):contiguous())
    local function near(a, b) return (a - b):abs():max():item() < 1e-4 end
    assert.is_true(near(out, tg.cat({o1, o2}, 2)))
    assert.is_true(near(i.grad, tg.cat({i1.grad, i2.grad}, 2)))
    assert.is_true(near(w.grad, tg.cat({w1.grad, w2.grad}, 1)))
  end)

  -- test_convolution.py test_conv_shapecheck
  it("shape checks: kernel larger than the padded input raises, else runs", function()
    local function run(raise, fn, xs, ws, opts)
      local x = tg.zeros(3, table.unpack(xs))
      local ok = pcall(F[fn], x, tg.zeros(table.unpack(ws)), nil, opts)
      assert.are.equal(not raise, ok)
    end
    run(true, "conv1d", {1, 2}, {1, 1, 3})
    run(true, "conv1d", {1, 2}, {1, 1, 3}, {stride = 2})
    run(false, "conv1d", {1, 2}, {1, 1, 2})
    run(false, "conv1d", {1, 2}, {1, 1, 2}, {stride = 2})
    run(false, "conv1d", {1, 2}, {1, 1, 3}, {stride = 2, padding = 1})
    run(true, "conv2d", {1, 2, 2}, {1, 1, 3, 3})
    run(false, "conv2d", {1, 3, 3}, {1, 1, 3, 3})
    run(false, "conv2d", {1, 2, 2}, {1, 1, 3, 3}, {padding = 1})
  end)

  -- test_convolution.py test_invalid_conv1d, test_invalid_conv2d, test_conv_modules_raise_error_on_incorrect_input_size
  it("invalid convolutions raise (ported cases)", function()
    local function fails(pattern, f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      if pattern then assert.truthy(tostring(err):find(pattern, 1, true), tostring(err)) end
    end
    fails("Calculated padded input size per channel: (4). Kernel size: (10). Kernel size can't be greater than actual input size",
          F.conv1d, tg.randn(1, 3, 4), tg.randn(33, 3, 10), tg.randn(33))
    fails("non-positive stride is not supported", F.conv1d, tg.randn(1, 3, 4), tg.randn(6, 3, 3), nil, {stride = -1})
    fails(nil, F.conv2d, tg.zeros(1, 1, 4, 4), tg.zeros(1, 1, 3, 3), nil, {dilation = 2, stride = 2})
    fails(nil, F.conv2d, tg.randn(1, 3, 1, 1), tg.randn(33, 3, 10, 10), tg.randn(33))
    fails("non-positive stride is not supported", F.conv2d, tg.randn(1, 3, 4, 4), tg.randn(6, 3, 4, 4), nil, {stride = -1})
    fails("non-positive stride is not supported", F.conv2d, tg.randn(1, 3, 4, 4), tg.randn(6, 3, 4, 4), nil, {stride = 0})
    for _, m in ipairs({{F.conv1d, {8, 3, 3}, {1, 4}}, {F.conv_transpose1d, {3, 8, 3}, {1, 4}},
                        {F.conv2d, {8, 3, 3, 3}, {2, 5}}, {F.conv_transpose2d, {3, 8, 3, 3}, {2, 5}}}) do
      for _, dims in ipairs(m[3]) do
        local shape = {}
        for i = 1, dims do shape[i] = 3 end
        fails(nil, m[1], tg.zeros(shape), tg.zeros(m[2]))
      end
    end
  end)

  -- test_convolution.py test_Conv1d_module_same_padding / test_Conv2d_module_same_padding
  it("padding 'same' equals explicit zero padding (extra on the right and bottom for even kernels)", function()
    tg.manual_seed(5)
    local function zpad(x, dim, left, right) -- zeros added along dim
      local parts = {}
      if left > 0 then local s = x.shape; s[dim] = left; parts[#parts + 1] = tg.zeros(s, D) end
      parts[#parts + 1] = x
      if right > 0 then local s = x.shape; s[dim] = right; parts[#parts + 1] = tg.zeros(s, D) end
      return tg.cat(parts, dim)
    end
    for _, c in ipairs({{k = {4, 3}, d = {1, 1}}, {k = {2, 5}, d = {3, 2}}, {k = {4, 4}, d = {2, 1}}}) do
      local x, w = randn(2, 3, 9, 8), randn(4, 3, c.k[1], c.k[2])
      local y = F.conv2d(x, w, nil, {padding = "same", dilation = c.d})
      local xp = x
      for i = 1, 2 do
        local total = c.d[i] * (c.k[i] - 1)
        xp = zpad(xp, 2 + i, total // 2, total - total // 2)
      end
      local want = F.conv2d(xp, w, nil, {dilation = c.d})
      assert.are.same(x.shape[3], y.shape[3])
      assert.is_true((y - want):abs():max():item() < 1e-12)
    end
    local x1, w1 = randn(2, 3, 7), randn(2, 3, 6)
    local want = F.conv1d(zpad(x1, 3, 2, 3), w1)
    assert.is_true((F.conv1d(x1, w1, nil, {padding = "same"}) - want):abs():max():item() < 1e-12)
  end)

  -- test_convolution.py test_ConvTranspose2d_output_size_downsample_upsample (a sample of it)
  it("conv then conv_transpose with the right output_padding gives the input's size back", function()
    for _, h in ipairs({13, 16, 23}) do
      for k = 2, 4 do
        for d = 1, 3 do
          for s = 1, 3 do
            for p = 0, 2 do
              if h + 2 * p >= d * (k - 1) + 1 then
                local x = tg.zeros(1, 2, h, 14)
                local y = F.conv2d(x, tg.zeros(3, 2, k, k), nil, {stride = s, padding = p, dilation = d})
                local op = {}
                for i = 1, 2 do
                  op[i] = x.shape[2 + i] - ((y.shape[2 + i] - 1) * s - 2 * p + d * (k - 1) + 1)
                end
                local z = F.conv_transpose2d(y, tg.zeros(3, 2, k, k), nil,
                                             {stride = s, padding = p, dilation = d, output_padding = op})
                assert.are.same(x.shape, z.shape)
              end
            end
          end
        end
      end
    end
  end)

  it("threads: the sample-parallel and the channel-parallel kernels give the one-thread results", function()
    tg.manual_seed(3)
    local n0 = tg.get_num_threads()
    local x, w, b = randn(8, 32, 10, 9), randn(64, 16, 3, 3), randn(64)
    local function run(nt)
      tg.set_num_threads(nt)
      local xx, ww = x:detach():requires_grad_(), w:detach():requires_grad_()
      local y = F.conv2d(xx, ww, b, {padding = 1, groups = 2, stride = {1, 2}})
      local t = F.conv_transpose2d(y:detach(), w, nil, {padding = 1, groups = 2, stride = {1, 2}})
      y:backward(tg.ones_like(y))
      return {y, t, xx.grad, ww.grad}
    end
    local r1, r3 = run(1), run(3) -- small planes: samples batched into one GEMM
    tg.set_num_threads(n0)
    for i = 1, 4 do assert.is_true((r1[i] - r3[i]):abs():max():item() < 1e-10) end
    -- large planes (one GEMM per sample), samples split across threads
    local x2, w2, b2 = randn(3, 8, 40, 40), randn(16, 8, 3, 3), randn(16)
    local function run2(nt)
      tg.set_num_threads(nt)
      local xx, ww = x2:detach():requires_grad_(), w2:detach():requires_grad_()
      local y = F.conv2d(xx, ww, b2, {padding = 1})
      local t = F.conv_transpose2d(y:detach(), w2, nil, {padding = 1})
      y:backward(tg.ones_like(y))
      return {y, t, xx.grad, ww.grad}
    end
    r1, r3 = run2(1), run2(3)
    tg.set_num_threads(n0)
    for i = 1, 4 do assert.is_true((r1[i] - r3[i]):abs():max():item() < 1e-10) end
    -- one sample: threaded GEMM, im2col / col2im split by channel
    local x1, w1 = randn(1, 16, 40, 40), randn(16, 16, 3, 3)
    local function run1(nt)
      tg.set_num_threads(nt)
      local xx, ww = x1:detach():requires_grad_(), w1:detach():requires_grad_()
      local y = F.conv2d(xx, ww, nil, {padding = 2, dilation = 2})
      y:backward(tg.ones_like(y))
      return {y, xx.grad, ww.grad}
    end
    r1, r3 = run1(1), run1(3)
    tg.set_num_threads(n0)
    for i = 1, 3 do assert.is_true((r1[i] - r3[i]):abs():max():item() < 1e-10) end
  end)

  it("double backward: the gradients' graph is ConvolutionBackwardBackward0, gradients of gradients exist", function()
    local x = randn(1, 2, 5, 5):requires_grad_()
    local w = randn(3, 2, 3, 3):requires_grad_()
    local y = F.conv2d(x, w, nil, {padding = 1})
    local r = tg.autograd.grad({(y * y):sum()}, {x, w}, nil, {create_graph = true})
    local gx, gw = r[1], r[2]
    assert.are.equal("ConvolutionBackwardBackward0", gx.grad_fn.name)
    assert.are.equal("ConvolutionBackwardBackward0", gw.grad_fn.name)
    local gg = tg.autograd.grad({gx:sum() + gw:sum()}, {x, w})
    assert.are.same(x.shape, gg[1].shape)
    assert.are.same(w.shape, gg[2].shape)
  end)

  it("next_functions: input, weight and bias edges (no bias: none)", function()
    local x = randn(1, 2, 5, 5):requires_grad_()
    local y = F.conv2d(x, randn(3, 2, 3, 3))
    local nf = y.grad_fn.next_functions
    assert.are.equal("AccumulateGrad", nf[1][1].name)
    assert.is_nil(nf[2][1])
    assert.is_nil(nf[3][1])
  end)

  it("no_grad and inputs without grad: no graph", function()
    local x, w = randn(1, 2, 5, 5):requires_grad_(), randn(3, 2, 3, 3)
    assert.is_nil(tg.no_grad(function() return F.conv2d(x, w) end).grad_fn)
    assert.is_nil(F.conv2d(x:detach(), w).grad_fn)
  end)

  it("options: the options table in the bias's place; padding 'valid' = 0; number = pair", function()
    tg.manual_seed(1)
    local x, w = randn(2, 3, 6, 6), randn(4, 3, 3, 3)
    local a = F.conv2d(x, w, {padding = 1, stride = 2})
    local b = F.conv2d(x, w, nil, {padding = {1, 1}, stride = {2, 2}})
    assert.is_true((a - b):abs():max():item() == 0)
    assert.are.same(F.conv2d(x, w, nil, {padding = "valid"}).shape, F.conv2d(x, w).shape)
    assert.are.same({2, 4, 6, 6}, F.conv2d(x, w, {padding = "same"}).shape)
    assert.are.same({4, 6, 6}, F.conv2d(x[1], w, {padding = "same"}).shape)
  end)

  it("no input channels: zeros plus the bias, and empty gradients (PyTorch returns 0 output channels here)", function()
    local x, w, b = randn(2, 0, 4, 4):requires_grad_(), randn(3, 0, 3, 3):requires_grad_(), randn(3):requires_grad_()
    local y = F.conv2d(x, w, b)
    assert.are.same({2, 3, 2, 2}, y.shape)
    assert.is_true((y - b:view(1, 3, 1, 1)):abs():max():item() == 0)
    y:sum():backward()
    assert.are.same({2, 0, 4, 4}, x.grad.shape)
    assert.are.same({3, 0, 3, 3}, w.grad.shape)
    assert.are.same({8, 8, 8}, b.grad:tolist())
  end)

  it("saved input modified in place: backward fails with PyTorch's message", function()
    local x = randn(1, 2, 5, 5):requires_grad_()
    local h = x * 1
    local y = F.conv2d(h, randn(3, 2, 3, 3):requires_grad_())
    h:add_(1)
    local ok, err = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("modified by an inplace operation", 1, true))
  end)
end)

describe("convolution errors (PyTorch's wording)", function()
  local function raises(msg, fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok, "expected an error: " .. msg)
    assert.truthy(tostring(err):find(msg, 1, true), "got: " .. tostring(err) .. "\nexpected: " .. msg)
  end
  local z = tg.zeros
  local w8 = z(8, 3, 3, 3)

  it("channels", function()
    raises("Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead",
           F.conv2d, z(1, 4, 5, 5), w8)
    raises("Given groups=3, weight of size [6, 2, 3, 3], expected input[1, 4, 5, 5] to have 6 channels, but got 4 channels instead",
           F.conv2d, z(1, 4, 5, 5), z(6, 2, 3, 3), nil, {groups = 3})
    raises("Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead",
           F.conv2d, z(4, 5, 5), w8)
    raises("Given transposed=1, weight of size [3, 2, 3, 3], expected input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead",
           F.conv_transpose2d, z(1, 4, 5, 5), z(3, 2, 3, 3))
  end)

  it("kernel larger than the padded input", function()
    raises("Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size",
           F.conv2d, z(1, 3, 2, 2), w8)
    raises("Calculated padded input size per channel: (2). Kernel size: (3). Kernel size can't be greater than actual input size",
           F.conv1d, z(1, 3, 2), z(8, 3, 3))
    raises("Calculated padded input size per channel: (5 x 5). Kernel size: (7 x 7). Kernel size can't be greater than actual input size",
           F.conv2d, z(1, 3, 5, 5), w8, nil, {dilation = 3})
    raises("Calculated padded input size per channel: (0 x 5). Kernel size: (1 x 1). Kernel size can't be greater than actual input size",
           F.conv2d, z(1, 3, 0, 5), z(2, 3, 1, 1))
  end)

  it("groups", function()
    raises("Given groups=3, expected weight to be divisible by 3 at dimension 0, but got weight of size [[8, 2, 3, 3]] instead",
           F.conv2d, z(1, 6, 5, 5), z(8, 2, 3, 3), nil, {groups = 3})
    raises("non-positive groups is not supported", F.conv2d, z(1, 6, 5, 5), z(8, 2, 3, 3), nil, {groups = 0})
    raises("Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 3, 3, 3] instead",
           F.conv2d, z(1, 3, 5, 5), z(0, 3, 3, 3))
    raises("Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [[3, 2, 3, 3]] instead",
           F.conv_transpose2d, z(1, 3, 5, 5), z(3, 2, 3, 3), nil, {groups = 2})
  end)

  it("dimensions of input and weight", function()
    raises("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [5, 5]", F.conv2d, z(5, 5), w8)
    raises("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [1, 1, 3, 5, 5]",
           F.conv2d, z(1, 1, 3, 5, 5), w8)
    raises("Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [5]", F.conv1d, z(5), z(2, 3, 3))
    raises("Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input of size: [5]",
           F.conv_transpose1d, z(5), z(2, 3, 3))
    raises("expected stride to be a single integer value or a list of 1 values to match the convolution dimensions, but got stride=[1, 1]",
           F.conv2d, z(1, 3, 5, 5), z(8, 3, 3))
    raises("expected stride to be a single integer value or a list of 3 values to match the convolution dimensions, but got stride=[1, 1]",
           F.conv2d, z(1, 3, 5, 5), z(8, 3, 3, 3, 3))
    raises("Expected 4-dimensional input for 4-dimensional weight [8, 3, 3, 3], but got 3-dimensional input of size [1, 3, 5] instead",
           F.conv1d, z(1, 3, 5), w8)
    raises("expected padding to be a single integer value or a list of 2 values to match the convolution dimensions, but got padding=[1, 1, 1]",
           F.conv2d, z(1, 3, 5, 5), w8, nil, {padding = {1, 1, 1}})
  end)

  it("stride, padding, dilation, output_padding", function()
    raises("non-positive stride is not supported", F.conv2d, z(1, 3, 5, 5), w8, nil, {stride = 0})
    raises("non-positive stride is not supported", F.conv2d, z(1, 3, 5, 5), w8, nil, {stride = {1, -1}})
    raises("negative padding is not supported", F.conv2d, z(1, 3, 5, 5), w8, nil, {padding = -1})
    raises("negative padding is not supported", F.conv_transpose2d, z(1, 3, 1, 1), z(3, 2, 3, 3), nil, {padding = -1})
    raises("dilation should be greater than zero, but got [0, 0]", F.conv2d, z(1, 3, 5, 5), w8, nil, {dilation = 0})
    raises("dilation should be greater than zero", F.conv1d, z(1, 3, 5), z(2, 3, 3), nil, {dilation = -1})
    raises("padding='same' is not supported for strided convolutions", F.conv2d, z(1, 3, 5, 5), w8, nil,
           {padding = "same", stride = 2})
    raises("Invalid padding string: 'foo'", F.conv2d, z(1, 3, 5, 5), w8, nil, {padding = "foo"})
    raises("conv_transpose2d(): argument 'padding' must be tuple of ints, not str", F.conv_transpose2d,
           z(1, 3, 1, 1), z(3, 2, 3, 3), nil, {padding = "same"})
    raises("output padding must be smaller than either stride or dilation, but got output_padding_height: 1 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1",
           F.conv_transpose2d, z(1, 3, 5, 5), z(3, 2, 3, 3), nil, {output_padding = 1})
    raises("output padding must be smaller than either stride or dilation, but got output_padding_height: 0 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1",
           F.conv_transpose1d, z(1, 3, 5), z(3, 2, 3), nil, {output_padding = 1})
    raises("negative output_padding is not supported", F.conv_transpose2d, z(1, 3, 5, 5), z(3, 2, 3, 3), nil,
           {stride = 2, output_padding = -1})
    raises("Given input size per channel: (1 x 1). Calculated output size per channel: (-3 x -3). Output size is too small",
           F.conv_transpose2d, z(1, 3, 1, 1), z(3, 2, 3, 3), nil, {padding = 3})
    raises("conv2d() got an unexpected keyword argument 'output_padding'", F.conv2d, z(1, 3, 5, 5), w8, nil,
           {output_padding = 1})
    raises("conv2d(): argument 'stride' must be tuple of ints, but found element of type float at pos 2", F.conv2d,
           z(1, 3, 5, 5), w8, nil, {stride = {1, 1.5}})
    raises("conv1d(): argument 'dilation' must be tuple of ints, not float", F.conv1d, z(1, 3, 5), z(2, 3, 3), nil,
           {dilation = 1.5})
    raises("conv2d(): argument 'groups' must be int, not string", F.conv2d, z(1, 3, 5, 5), w8, nil, {groups = "2"})
  end)

  it("bias", function()
    raises("Given weight of size [8, 3, 3, 3], expected bias to be 1-dimensional with 8 elements, but got bias of size [7] instead",
           F.conv2d, z(1, 3, 5, 5), w8, z(7))
    raises("Given weight of size [8, 3, 3, 3], expected bias to be 1-dimensional with 8 elements, but got bias of size [8, 1] instead",
           F.conv2d, z(1, 3, 5, 5), w8, z(8, 1))
    raises("Given transposed=1, weight of size [3, 2, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [3] instead",
           F.conv_transpose2d, z(1, 3, 4, 4), z(3, 2, 3, 3), z(3))
  end)

  it("dtypes", function()
    raises("expected scalar type Double but found Float", F.conv2d, z(1, 3, 5, 5, {dtype = tg.float64}), w8)
    raises("expected scalar type Float but found Double", F.conv2d, z(1, 3, 5, 5), w8:double())
    raises("expected scalar type Float but found Long", F.conv2d, z(1, 3, 5, 5), w8:long())
    raises("Input type (float) and bias type (double) should be the same", F.conv2d, z(1, 3, 5, 5), w8,
           z(8, {dtype = tg.float64}))
    raises("\"slow_conv2d_cpu\" not implemented for 'Long'", F.conv2d, z(1, 3, 5, 5):long(), w8:long())
    raises("\"slow_conv2d_cpu\" not implemented for 'Bool'", F.conv2d, z(1, 3, 5, 5, {dtype = tg.bool}),
           z(8, 3, 3, 3, {dtype = tg.bool}))
    raises("\"slow_conv_transpose2d_out_cpu\" not implemented for 'Long'", F.conv_transpose2d, z(1, 3, 5, 5):long(),
           z(3, 2, 3, 3):long())
    -- shape errors come first, as in PyTorch
    raises("to have 3 channels, but got 4 channels instead", F.conv2d, z(1, 4, 5, 5, {dtype = tg.float64}), w8)
  end)
end)
