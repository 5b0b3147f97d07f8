-- norm_spec.lua: tg.F.batch_norm, layer_norm, group_norm and embedding (issue 8):
--  * values, grad_fn names and gradients against PyTorch fixtures
--    (tools/gen_norm_fixtures.py -> spec/fixtures/norm.lua): running statistics after
--    three training calls and the eval output, odd sizes, non-contiguous inputs,
--    weight/bias nil, padding_idx, max_norm, repeated ids, float32 and float64;
--  * gradcheck of input, weight and bias in float64, gradgradcheck for each norm;
--  * the fused backward kernels against the differentiable formula (create_graph);
--  * the multi-threaded kernels on inputs large enough to be split;
--  * errors with PyTorch's wording.
-- Cases ported from PyTorch's test/test_nn.py (test_batchnorm_*, test_layer_norm_*,
-- test_group_norm_*), test/nn/test_embedding.py and common_methods_invocations.py.
local tg = require "tgrad"
local F = tg.F
local fx = require "support.fixtures"
local H = require "support.helpers"

local d64 = tg.float64

local function randn(...)
  local shape = {...}
  return tg.randn(shape, {dtype = d64})
end
local function leaf(t) return t:detach():requires_grad_(true) end

describe("norm: PyTorch fixtures", function()
  for _, cs in ipairs(fx.load("norm")) do
    it(cs.name, function()
      local env = setmetatable({tg = tg, F = F}, {__index = _G})
      local rg = {}
      for _, k in ipairs(cs.grads) do rg[k] = true end
      for _, inp in ipairs(cs.inputs) do env[inp.name] = fx.build(inp.t, rg[inp.name]) end
      local chunk = assert(load(cs.lua, "=" .. cs.name, "t", env))
      local out = chunk()
      fx.check_tensor("output", out, cs.out, cs.tol)
      if cs.grad_fn then assert.are.equal(cs.grad_fn, out.grad_fn and out.grad_fn.name) end
      for k, want in pairs(cs.after or {}) do fx.check_tensor(k .. " after the call", env[k], want, cs.tol) end
      if #cs.grads > 0 then
        (out * fx.build(cs.grad_out)):sum():backward()
        for _, k in ipairs(cs.grads) do
          local g = env[k].grad or tg.zeros_like(env[k])
          fx.check_tensor("grad of " .. k, g, cs.grad[k], cs.tol)
        end
      end
    end)
  end
end)

describe("norm: gradcheck and gradgradcheck (float64)", function()
  local gc, ggc = tg.autograd.gradcheck, tg.autograd.gradgradcheck

  it("batch_norm training, input weight bias", function()
    local x, w, b = leaf(randn(4, 3, 2)), leaf(randn(3)), leaf(randn(3))
    local f = function(x, w, b) return F.batch_norm(x, nil, nil, {weight = w, bias = b, training = true}) end
    assert.is_true(gc(f, {x, w, b}))
    assert.is_true(ggc(f, {x, w, b}))
  end)

  it("batch_norm training 2-D, no affine", function()
    local x = leaf(randn(5, 2))
    local f = function(x) return F.batch_norm(x, nil, nil, {training = true}) end
    assert.is_true(gc(f, {x}))
    assert.is_true(ggc(f, {x}))
  end)

  it("batch_norm training 4-D, weight only", function()
    local x, w = leaf(randn(2, 2, 2, 3)), leaf(randn(2))
    local f = function(x, w) return F.batch_norm(x, nil, nil, {weight = w, training = true, eps = 1e-3}) end
    assert.is_true(gc(f, {x, w}))
    assert.is_true(ggc(f, {x, w}))
  end)

  it("batch_norm eval, input weight bias", function()
    local x, w, b = leaf(randn(3, 3, 2)), leaf(randn(3)), leaf(randn(3))
    local rm, rv = randn(3), tg.rand(3, {dtype = d64}) + 0.5
    local f = function(x, w, b) return F.batch_norm(x, rm, rv, {weight = w, bias = b}) end
    assert.is_true(gc(f, {x, w, b}))
    assert.is_true(ggc(f, {x, w, b}))
  end)

  it("layer_norm, input weight bias", function()
    local x, w, b = leaf(randn(3, 2, 4)), leaf(randn(2, 4)), leaf(randn(2, 4))
    local f = function(x, w, b) return F.layer_norm(x, {2, 4}, {weight = w, bias = b}) end
    assert.is_true(gc(f, {x, w, b}))
    assert.is_true(ggc(f, {x, w, b}))
  end)

  it("layer_norm, no affine, non-contiguous input", function()
    local x = leaf(randn(5, 3))
    local f = function(x) return F.layer_norm(x:t(), 5) end
    assert.is_true(gc(f, {x}))
    assert.is_true(ggc(f, {x}))
  end)

  it("group_norm, input weight bias", function()
    local x, w, b = leaf(randn(2, 6, 3)), leaf(randn(6)), leaf(randn(6))
    local f = function(x, w, b) return F.group_norm(x, 3, {weight = w, bias = b}) end
    assert.is_true(gc(f, {x, w, b}))
    assert.is_true(ggc(f, {x, w, b}))
  end)

  it("group_norm 2-D, bias only", function()
    local x, b = leaf(randn(3, 4)), leaf(randn(4))
    local f = function(x, b) return F.group_norm(x, 2, {bias = b}) end
    assert.is_true(gc(f, {x, b}))
    assert.is_true(ggc(f, {x, b}))
  end)

  it("instance_norm, input weight bias", function()
    local x, w, b = leaf(randn(2, 3, 4)), leaf(randn(3)), leaf(randn(3))
    local f = function(x, w, b) return F.instance_norm(x, {weight = w, bias = b}) end
    assert.is_true(gc(f, {x, w, b}))
    assert.is_true(ggc(f, {x, w, b}))
  end)

  it("embedding (weight), and double backward with padding_idx and scale_grad_by_freq", function()
    local w = leaf(randn(5, 3))
    local ids = tg.tensor({{1, 3, 3}, {5, 2, 1}})
    assert.is_true(gc(function(w) return F.embedding(ids, w) end, {w}))
    assert.is_true(ggc(function(w) return F.embedding(ids, w) end, {w}))
    -- the gradient of the first derivative w.r.t. the output gradient carries the padding
    -- mask and the per-id scale (the first derivative is linear in it)
    assert.is_true(ggc(function(w) return F.embedding(ids, w, {padding_idx = 3, scale_grad_by_freq = true}) end, {w}))
  end)
end)

-- the fused backward (grad mode off inside backward) and the differentiable formula
-- (create_graph = true) must agree
describe("norm: fused backward kernels agree with the differentiable formula", function()
  local function both(f, inputs)
    local out = f(table.unpack(inputs))
    local go = tg.randn(out.shape, {dtype = out.dtype})
    local fused = tg.autograd.grad(out, inputs, go, {retain_graph = true})
    local ops = tg.autograd.grad(out, inputs, go, {create_graph = true})
    for i = 1, #inputs do H.assert_close(ops[i]:detach(), fused[i], 1e-9) end
  end
  it("batch_norm training and eval", function()
    local x, w, b = leaf(randn(4, 3, 5)), leaf(randn(3)), leaf(randn(3))
    both(function(x, w, b) return F.batch_norm(x, nil, nil, w, b, {training = true}) end, {x, w, b})
    local rm, rv = randn(3), tg.rand(3, {dtype = d64}) + 0.5
    both(function(x, w, b) return F.batch_norm(x, rm, rv, w, b) end, {x, w, b})
    local x2 = leaf(randn(6, 300))
    both(function(x) return F.batch_norm(x, nil, nil, {training = true}) end, {x2})
  end)
  it("layer_norm and group_norm", function()
    local x, w, b = leaf(randn(4, 6, 5)), leaf(randn(6, 5)), leaf(randn(6, 5))
    both(function(x, w, b) return F.layer_norm(x, {6, 5}, w, b) end, {x, w, b})
    local gw, gb = leaf(randn(6)), leaf(randn(6))
    both(function(x, w, b) return F.group_norm(x, 2, w, b) end, {x, gw, gb})
    both(function(x, w, b) return F.group_norm(x, 3, w, b) end, {x:permute(1, 2, 3), gw, gb})
  end)
  it("embedding with padding_idx and scale_grad_by_freq", function()
    local w = leaf(randn(7, 4))
    local ids = tg.tensor({3, 1, 3, 7, 3, 2})
    both(function(w) return F.embedding(ids, w, {padding_idx = 2, scale_grad_by_freq = true}) end, {w})
  end)
end)

-- big enough for several threads (the kernels split work past 32768 elements)
describe("norm: large inputs, threads", function()
  local function mean_var(x, dims)
    local m = x:mean(dims, {keepdim = true})
    local v = ((x - m) ^ 2):mean(dims, {keepdim = true})
    return m, v
  end
  local saved
  setup(function() saved = tg.get_num_threads(); tg.set_num_threads(2) end)
  teardown(function() tg.set_num_threads(saved) end)

  for _, dt in ipairs({tg.float64, tg.float32}) do
    local tol = dt == tg.float64 and 1e-9 or 1e-4
    it("batch_norm (8, 16, 40, 13) " .. tostring(dt), function()
      local x = (tg.randn(8, 16, 40, 13, {dtype = dt}) * 3 + 5)
      local w, b = tg.randn(16, {dtype = dt}), tg.randn(16, {dtype = dt})
      local rm, rv = tg.zeros(16, {dtype = dt}), tg.ones(16, {dtype = dt})
      local y = F.batch_norm(x, rm, rv, {weight = w, bias = b, training = true})
      local m, v = mean_var(x:double(), {1, 3, 4})
      local ref = (x:double() - m) / (v + 1e-5):sqrt() * w:double():view(1, 16, 1, 1) + b:double():view(1, 16, 1, 1)
      H.assert_close(y:double(), ref, tol)
      local n = 8 * 40 * 13
      H.assert_close(rm:double(), m:reshape(16) * 0.1, tol)
      H.assert_close(rv:double(), v:reshape(16) * (0.1 * n / (n - 1)) + 0.9, tol)
      -- backward: d/dx of sum(y * g) by the kernel equals the differentiable formula's
      local xl = x:detach():requires_grad_(true)
      local out = F.batch_norm(xl, nil, nil, {weight = w, training = true})
      local g = tg.randn(out.shape, {dtype = dt})
      local fused = tg.autograd.grad(out, {xl}, g, {retain_graph = true})[1]
      local ops = tg.autograd.grad(out, {xl}, g, {create_graph = true})[1]
      H.assert_close(fused:double(), ops:detach():double(), dt == tg.float64 and 1e-9 or 1e-3)
    end)
    it("batch_norm 2-D (700, 100) and (100, 600) (blocks of channels on threads) " .. tostring(dt), function()
      for _, sz in ipairs({{700, 100}, {100, 600}}) do
        local x = tg.randn(sz[1], sz[2], {dtype = dt}) - 2
        local w = tg.randn(sz[2], {dtype = dt})
        local y = F.batch_norm(x, nil, nil, {weight = w, training = true})
        local m, v = mean_var(x:double(), 1)
        H.assert_close(y:double(), (x:double() - m) / (v + 1e-5):sqrt() * w:double(), tol)
        local xl, wl = x:detach():requires_grad_(true), w:detach():requires_grad_(true)
        local out = F.batch_norm(xl, nil, nil, {weight = wl, training = true})
        local g = tg.randn(out.shape, {dtype = dt})
        local fused = tg.autograd.grad(out, {xl, wl}, g, {retain_graph = true})
        local ops = tg.autograd.grad(out, {xl, wl}, g, {create_graph = true})
        for i = 1, 2 do H.assert_close(fused[i]:double(), ops[i]:detach():double(), dt == tg.float64 and 1e-9 or 1e-3) end
      end
    end)
    it("layer_norm (300, 257) and group_norm (6, 32, 30, 31) " .. tostring(dt), function()
      local x = tg.randn(300, 257, {dtype = dt}) + 7
      local w, b = tg.randn(257, {dtype = dt}), tg.randn(257, {dtype = dt})
      local m, v = mean_var(x:double(), 2)
      H.assert_close(F.layer_norm(x, 257, w, b):double(), (x:double() - m) / (v + 1e-5):sqrt() * w:double() + b:double(), tol)
      local xg = tg.randn(6, 32, 30, 31, {dtype = dt})
      local yg = F.group_norm(xg, 8)
      local xr = xg:double():reshape(6, 8, 4 * 30 * 31)
      local mg, vg = mean_var(xr, 3)
      H.assert_close(yg:double(), ((xr - mg) / (vg + 1e-5):sqrt()):reshape(6, 32, 30, 31), tol)
      -- weight and bias gradients, summed per thread then across threads
      local xl, wl, bl = xg:detach():requires_grad_(true), tg.randn(32, {dtype = dt, requires_grad = true}),
        tg.randn(32, {dtype = dt, requires_grad = true})
      local out = F.group_norm(xl, 8, wl, bl)
      local g = tg.randn(out.shape, {dtype = dt})
      local fused = tg.autograd.grad(out, {xl, wl, bl}, g, {retain_graph = true})
      local ops = tg.autograd.grad(out, {xl, wl, bl}, g, {create_graph = true})
      for i = 1, 3 do H.assert_close(fused[i]:double(), ops[i]:detach():double(), dt == tg.float64 and 1e-9 or 1e-3) end
    end)
    it("embedding 5000 ids into (1000, 64) " .. tostring(dt), function()
      local w = tg.randn(1000, 64, {dtype = dt, requires_grad = true})
      local ids = tg.randint(1, 1001, {50, 100})
      local out = F.embedding(ids, w, {scale_grad_by_freq = true, padding_idx = 7})
      H.assert_close(out:double(), w:detach():index_select(1, ids:reshape(-1)):reshape(50, 100, 64):double(), 0)
      local g = tg.randn(out.shape, {dtype = dt})
      local fused = tg.autograd.grad(out, {w}, g, {retain_graph = true})[1]
      local ops = tg.autograd.grad(out, {w}, g, {create_graph = true})[1]
      H.assert_close(fused:double(), ops:detach():double(), dt == tg.float64 and 1e-9 or 1e-4)
    end)
  end
end)

describe("norm: behaviour", function()
  it("batch_norm: momentum 0 keeps the running stats, 1 replaces them (unbiased variance)", function()
    local x = randn(6, 2, 3)
    local rm, rv = tg.zeros(2, {dtype = d64}), tg.ones(2, {dtype = d64})
    F.batch_norm(x, rm, rv, {training = true, momentum = 0})
    H.assert_close(rm, {0, 0})
    H.assert_close(rv, {1, 1})
    F.batch_norm(x, rm, rv, {training = true, momentum = 1})
    H.assert_close(rm, x:mean({1, 3}))
    H.assert_close(rv, x:var({1, 3}))
  end)

  it("batch_norm: training bumps the running stats' version, eval leaves them alone", function()
    local x = randn(4, 3)
    local rm, rv = tg.zeros(3, {dtype = d64}), tg.ones(3, {dtype = d64})
    local w = leaf(randn(3))
    -- a graph that saved rm: an in-place update by batch_norm invalidates it
    local y = (w * rm):sum()
    F.batch_norm(x, rm, rv)
    H.assert_close(rm, {0, 0, 0})
    y:backward({retain_graph = true})
    F.batch_norm(x, rm, rv, {training = true})
    H.errors("modified by an inplace operation", function() y:backward() end)
  end)

  it("batch_norm: running stats given as non-contiguous views are updated", function()
    local buf = tg.zeros(3, 2, {dtype = d64})
    local rm, rv = buf:select(2, 1), buf:select(2, 2)
    rv:fill_(1)
    local x = randn(5, 3)
    F.batch_norm(x, rm, rv, {training = true, momentum = 0.5})
    H.assert_close(rm, x:mean(1) * 0.5)
    H.assert_close(rv, x:var(1) * 0.5 + 0.5)
  end)

  it("batch_norm: eval mode accepts one value per channel", function()
    local y = F.batch_norm(tg.tensor({{1.0, 2.0, 3.0}}), tg.zeros(3), tg.ones(3))
    H.assert_close(y, {1 / math.sqrt(1 + 1e-5), 2 / math.sqrt(1 + 1e-5), 3 / math.sqrt(1 + 1e-5)}, 1e-6)
  end)

  it("no graph under no_grad; grad_fn names; next_functions are input, weight, bias", function()
    local x, w, b = leaf(randn(2, 3)), leaf(randn(3)), leaf(randn(3))
    local y = tg.no_grad(function() return F.batch_norm(x, nil, nil, w, b, {training = true}) end)
    assert.is_nil(y.grad_fn)
    y = F.batch_norm(x, nil, nil, w, b, {training = true})
    assert.are.equal("NativeBatchNormBackward0", y.grad_fn.name)
    local nf = y.grad_fn.next_functions
    assert.are.equal(x, nf[1][1].variable)
    assert.are.equal(w, nf[2][1].variable)
    assert.are.equal(b, nf[3][1].variable)
    assert.are.equal("NativeLayerNormBackward0", F.layer_norm(x, 3).grad_fn.name)
    assert.are.equal("NativeGroupNormBackward0", F.group_norm(x, 3).grad_fn.name)
    assert.are.equal("EmbeddingBackward0", F.embedding(tg.tensor({1}), w:view(3, 1)).grad_fn.name)
  end)

  it("only the gradients that are needed are computed", function()
    local x, w = randn(3, 4), leaf(randn(4))
    F.layer_norm(x, 4, w):sum():backward()
    assert.is_not_nil(w.grad)
    assert.is_nil(x.grad)
  end)

  it("an in-place change of the input after the forward is caught by backward", function()
    local x = leaf(randn(3, 4))
    local h = x * 1
    local y = F.layer_norm(h, 4)
    h:add_(1)
    H.errors("modified by an inplace operation", function() y:sum():backward() end)
  end)

  it("layer_norm: normalized_shape as a number or a table; weight and bias positional or named", function()
    local x, w, b = randn(2, 5), randn(5), randn(5)
    local a = F.layer_norm(x, 5, w, b)
    H.assert_close(F.layer_norm(x, {5}, {weight = w, bias = b}), a)
    H.assert_close(F.layer_norm(x, x.shape[2], w, {bias = b}), a)
  end)

  it("group_norm with as many groups as channels is instance norm", function()
    local x = randn(2, 3, 7)
    local m = x:mean(3, {keepdim = true})
    local v = ((x - m) ^ 2):mean(3, {keepdim = true})
    H.assert_close(F.group_norm(x, 3), (x - m) / (v + 1e-5):sqrt())
  end)

  it("embedding: max_norm rescales only the referenced rows, in place, outside the graph", function()
    local w = leaf(randn(4, 3) * 5)
    local before = w:detach():clone()
    local out = F.embedding(tg.tensor({2, 4, 2}), w, {max_norm = 1})
    for _, r in ipairs({2, 4}) do
      H.assert_close(w[r]:detach():norm(), 1 / (before[r]:norm():item() + 1e-7) * before[r]:norm():item(), 1e-9)
    end
    H.assert_close(w[1]:detach(), before[1], 0)
    H.assert_close(w[3]:detach(), before[3], 0)
    assert.is_true(w.is_leaf)
    out:sum():backward()
    H.assert_close(w.grad, {{0, 0, 0}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}})
  end)

  it("embedding: the padding row still gives its values, but gets no gradient", function()
    local w = leaf(randn(3, 2))
    local out = F.embedding(tg.tensor({1, 2, 2}), w, {padding_idx = 2})
    H.assert_close(out[2]:detach(), w[2]:detach(), 0)
    out:sum():backward()
    H.assert_close(w.grad, {{1, 1}, {0, 0}, {0, 0}})
  end)
end)

-- ported from PyTorch's test/nn/test_embedding.py and test/test_nn.py (LayerNorm / GroupNorm general)
describe("norm: cases ported from PyTorch's tests", function()
  it("test_embedding_max_norm: repeated ids give equal rows, every norm <= max_norm", function()
    local w = tg.randn(22, 5) * 3
    local out = F.embedding(tg.tensor({3, 9, 9, 7}), w, {max_norm = 1.0})
    H.assert_close(out[2], out[3], 0)
    assert.is_true(out:norm(2, 2):le(1):all():item())
  end)

  it("test_embedding_max_norm_unsorted_repeating_indices: each row renormalised once", function()
    local w = tg.randn(20, 64, {dtype = d64})
    local ids = tg.arange(1, 3):tile(2000)
    local ref = w:clone()
    local out = F.embedding(ids, w, {max_norm = 1.0})
    for r = 1, 2 do
      local n = ref[r]:norm():item()
      local want = n > 1 and ref[r] * (1 / (n + 1e-7)) or ref[r]
      H.assert_close(out[r], want, 1e-12)
      H.assert_close(w[r], want, 1e-12)
    end
    H.assert_close(w[{{3, 20}}], ref[{{3, 20}}], 0)
  end)

  it("test_embedding_from_pretrained_options: norm_type 0.5", function()
    local a = tg.tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {dtype = d64})
    local out = F.embedding(tg.tensor({1, 2}), a, {max_norm = 2.0, norm_type = 0.5})
    H.assert_close(out, a, 0)
    assert.is_true(a:ne(tg.arange(1.0, 7.0, {dtype = d64}):view(2, 3)):all():item())
    for r = 1, 2 do
      local n = (out[r]:abs():sqrt():sum() ^ 2):item()
      assert.is_true(n <= 2.0 + 1e-9)
    end
  end)

  it("test_embedding_scalar_weight_error", function()
    for _, w in ipairs({tg.tensor(1.0), tg.tensor(1.0):reshape(1, 1, 1)}) do
      H.errors("'weight' must be 2-D", function() F.embedding(tg.tensor({{1, 1}, {1, 1}}), w) end)
    end
  end)

  it("test_embedding_dense_grad: gradcheck and gradgradcheck (a 12 x 3 table here, 20 x 20 there)", function()
    local w = leaf(randn(12, 3))
    local ids = tg.tensor({{1, 2, 2, 3}, {4, 6, 8, 12}})
    local f = function(w) return F.embedding(ids, w) end
    assert.is_true(tg.autograd.gradcheck(f, {w}))
    assert.is_true(tg.autograd.gradgradcheck(f, {w}))
  end)

  it("test_embedding_max_norm_backward: the gradient counts the uses of each row", function()
    local w = (tg.randn(4, 4) * 2):requires_grad_(true)
    F.embedding(tg.tensor({1, 2, 3, 3}), w, {max_norm = 1.0}):sum():backward()
    H.assert_close(w.grad, tg.tensor({{1.0}, {1.0}, {2.0}, {0.0}}):expand(4, 4), 0)
  end)

  it("test_embedding_padding_idx: the padding row is not touched by the forward, gets no gradient", function()
    local w = tg.randn(10, 20)
    w[1]:zero_()
    w:requires_grad_(true)
    local out = F.embedding(tg.tensor({{1, 3, 5, 6}, {5, 4, 1, 10}}), w, {padding_idx = 1})
    assert.are.equal(0, out[1][1]:sum():item())
    assert.are.equal(0, out[2][3]:sum():item())
    out:sum():backward()
    H.assert_close(w.grad[1], tg.zeros(20), 0)
  end)

  it("LayerNorm general: zero mean and unit variance over the normalized dims (eps 0)", function()
    for _, shape in ipairs({{4, 7}, {2, 3, 5}, {3, 2, 2, 3}}) do
      local x = tg.randn(shape, {dtype = d64}) * 4 + 10
      local nd = #shape - 1
      local ns, dims = {}, {}
      for i = 2, #shape do ns[#ns + 1] = shape[i]; dims[#dims + 1] = i end
      local y = F.layer_norm(x, ns, {eps = 0})
      H.assert_close(y:mean(dims), tg.zeros(shape[1], {dtype = d64}), 1e-12)
      H.assert_close(y:var(dims, {correction = 0}), tg.ones(shape[1], {dtype = d64}), 1e-9)
      assert.are.equal(nd, #ns)
    end
  end)

  it("GroupNorm general: each (sample, group) has zero mean and unit variance (eps 0)", function()
    local x = tg.randn(3, 6, 4, 5, {dtype = d64}) * 2 - 3
    local y = F.group_norm(x, 3, {eps = 0}):reshape(3, 3, 2 * 4 * 5)
    H.assert_close(y:mean(3), tg.zeros(3, 3, {dtype = d64}), 1e-12)
    H.assert_close(y:var(3, {correction = 0}), tg.ones(3, 3, {dtype = d64}), 1e-9)
  end)

  it("BatchNorm general: each channel has zero mean and unit variance in training (eps 0)", function()
    local x = tg.randn(5, 4, 3, 2, {dtype = d64}) * 3 + 1
    local y = F.batch_norm(x, nil, nil, {training = true, eps = 0})
    H.assert_close(y:mean({1, 3, 4}), tg.zeros(4, {dtype = d64}), 1e-12)
    H.assert_close(y:var({1, 3, 4}, {correction = 0}), tg.ones(4, {dtype = d64}), 1e-9)
  end)
end)

describe("norm: errors (PyTorch's wording)", function()
  local x23 = tg.randn(2, 3)
  it("batch_norm", function()
    H.errors("Expected more than 1 value per channel when training, got input size [1, 3]",
      function() F.batch_norm(tg.randn(1, 3), nil, nil, {training = true}) end)
    H.errors("Expected more than 1 value per channel when training, got input size [1, 3, 1]",
      function() F.batch_norm(tg.randn(1, 3, 1), nil, nil, {training = true}) end)
    H.errors("running_mean should contain 4 elements not 3",
      function() F.batch_norm(tg.randn(2, 4), tg.zeros(3), tg.ones(4), {training = true}) end)
    H.errors("running_var should contain 3 elements not 4",
      function() F.batch_norm(x23, tg.zeros(3), tg.ones(4)) end)
    H.errors("weight should contain 3 elements not 4", function() F.batch_norm(x23, nil, nil, tg.ones(4), {training = true}) end)
    H.errors("bias should contain 3 elements not 2", function() F.batch_norm(x23, nil, nil, {bias = tg.ones(2), training = true}) end)
    H.errors("running_mean must be defined in evaluation mode", function() F.batch_norm(x23, nil, nil) end)
    H.errors("running_var must be defined in evaluation mode", function() F.batch_norm(x23, tg.zeros(3), nil) end)
    H.errors("Dimension out of range (expected to be in range of [-1, 1], but got 2)",
      function() F.batch_norm(tg.randn(3), nil, nil, {training = true}) end)
    H.errors("\"batch_norm\" not implemented for 'Long'",
      function() F.batch_norm(tg.tensor({{1, 2}, {3, 4}}), nil, nil, {training = true}) end)
    H.errors("mixed dtype (CPU): expect parameter to have scalar type of Float",
      function() F.batch_norm(x23, tg.zeros(3, {dtype = d64}), tg.ones(3)) end)
    H.errors("mixed dtype (CPU): all inputs must share same datatype.",
      function() F.batch_norm(randn(2, 3), nil, nil, tg.ones(3), {training = true}) end)
    H.errors("batch_norm() got an unexpected keyword argument 'affine'",
      function() F.batch_norm(x23, nil, nil, {training = true, affine = true}) end)
    H.errors("batch_norm() got multiple values for argument 'weight'",
      function() F.batch_norm(x23, nil, nil, tg.ones(3), {weight = tg.ones(3), training = true}) end)
  end)

  it("layer_norm", function()
    H.errors("Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]",
      function() F.layer_norm(x23, 4) end)
    H.errors("Given normalized_shape=[2, 4], expected input with shape [*, 2, 4], but got input of size[2, 3]",
      function() F.layer_norm(x23, {2, 4}) end)
    H.errors("Given normalized_shape=[2, 3], expected input with shape [*, 2, 3], but got input of size[3]",
      function() F.layer_norm(tg.randn(3), {2, 3}) end)
    H.errors("Expected weight to be of same shape as normalized_shape, but got weight of shape [4] and normalized_shape = [3]",
      function() F.layer_norm(x23, 3, tg.ones(4)) end)
    H.errors("Expected bias to be of same shape as normalized_shape, but got bias of shape [4] and normalized_shape = [3]",
      function() F.layer_norm(x23, 3, {bias = tg.ones(4)}) end)
    H.errors("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []",
      function() F.layer_norm(x23, {}) end)
    H.errors("\"LayerNormKernelImpl\" not implemented for 'Long'", function() F.layer_norm(tg.tensor({{1, 2}}), 2) end)
    H.errors("mixed dtype (CPU): expect parameter to have scalar type of Float",
      function() F.layer_norm(x23, 3, tg.ones(3, {dtype = d64})) end)
    H.errors("mixed dtype (CPU): all inputs must share same datatype.", function() F.layer_norm(randn(2, 3), 3, tg.ones(3)) end)
    H.errors("layer_norm(): argument 'normalized_shape' (position 2) must be an integer or a table of integers, not string",
      function() F.layer_norm(x23, "3") end)
  end)

  it("group_norm", function()
    H.errors("Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 3, 4] and num_groups=2",
      function() F.group_norm(tg.randn(2, 3, 4), 2) end)
    H.errors("Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape [2] and input of shape [2, 3, 4]",
      function() F.group_norm(tg.randn(2, 3, 4), 3, tg.ones(2)) end)
    H.errors("Expected bias to be a vector of size equal to the number of channels in input, but got bias of shape [3, 1] and input of shape [2, 3, 4]",
      function() F.group_norm(tg.randn(2, 3, 4), 3, {bias = tg.ones(3, 1)}) end)
    H.errors("Expected at least 2 dimensions for input tensor but received 1", function() F.group_norm(tg.randn(3), 3) end)
    H.errors("Expected more than 1 value per channel when training, got input size [1, 3]",
      function() F.group_norm(tg.randn(1, 3), 3) end)
    H.errors("Expected num_groups to be positive, but got num_groups=0", function() F.group_norm(x23, 0) end)
    H.errors("\"GroupNormKernelImpl\" not implemented for 'Long'", function() F.group_norm(tg.tensor({{1, 2}, {3, 4}}), 2) end)
    H.errors("group_norm(): argument 'num_groups' (position 2) must be an integer, not nil", function() F.group_norm(x23) end)
  end)

  it("instance_norm", function()
    H.errors("Expected more than 1 spatial element when training, got input size [2, 3, 1]",
      function() F.instance_norm(tg.randn(2, 3, 1)) end)
    H.errors("Expected more than 1 spatial element when training, got input size [2, 3]",
      function() F.instance_norm(x23) end)
    H.errors("Expected running_mean and running_var to be defined when use_input_stats is false",
      function() F.instance_norm(tg.randn(2, 3, 4), {use_input_stats = false}) end)
    H.errors("running_mean should contain 6 elements not 8", function() F.instance_norm(tg.randn(2, 3, 4), tg.zeros(4)) end)
    H.errors("instance_norm() got an unexpected keyword argument 'affine'",
      function() F.instance_norm(tg.randn(2, 3, 4), {affine = true}) end)
    local ok, err = pcall(function() F.instance_norm(x23) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("norm_spec.lua:%d+: Expected more than 1 spatial"))
  end)

  it("embedding", function()
    local w = tg.randn(5, 3)
    for _, bad in ipairs({0, 6, -1}) do
      H.errors("index out of range in self", function() F.embedding(tg.tensor({1, bad}), w) end)
    end
    H.errors("Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)",
      function() F.embedding(tg.tensor({1.0}), w) end)
    H.errors("'weight' must be 2-D", function() F.embedding(tg.tensor({1}), tg.randn(5)) end)
    for _, bad in ipairs({0, 6, -6}) do
      H.errors("Padding_idx must be within num_embeddings", function() F.embedding(tg.tensor({1}), w, {padding_idx = bad}) end)
    end
    -- an id out of range with max_norm: the error comes before any row is touched
    local w2 = tg.randn(5, 3) * 10
    local before = w2:clone()
    H.errors("index out of range in self", function() F.embedding(tg.tensor({1, 9}), w2, {max_norm = 1}) end)
    H.assert_close(w2, before, 0)
    H.errors("embedding() got an unexpected keyword argument 'padding'",
      function() F.embedding(tg.tensor({1}), w, {padding = 1}) end)
  end)

  it("errors name the caller's line", function()
    local ok, err = pcall(function() F.layer_norm(x23, 4) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("norm_spec.lua:%d+: Given normalized_shape"))
  end)
end)
