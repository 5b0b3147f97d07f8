-- nn_functional_spec.lua: softmax, log_softmax and the losses of tg.nn.functional
-- (issue 3). Values and gradients against PyTorch fixtures (spec/fixtures/nn.lua,
-- written by tools/gen_nn_fixtures.py) in float64 and float32, gradcheck and
-- double-backward gradcheck in float64, non-contiguous inputs, threading, errors.
local tg = require "tgrad"
local F = tg.nn.functional

local fixtures = require("support.fixtures").load("nn")
local errors = require("support.helpers").errors

---------------------------------------------------------------- helpers
local function make(spec, dtype, requires_grad)
  local dt = spec.dtype == "int64" and tg.int64 or dtype
  local t = tg.tensor(spec.data, {dtype = dt}):reshape(spec.shape)
  if requires_grad then t:requires_grad_(true) end
  return t
end

local function flat(t) return t:detach():reshape(-1):tolist() end

local function shape_str(s) return "{" .. table.concat(s, ", ") .. "}" end

local function check_values(got, want, tol, what)
  assert.are.equal(shape_str(want.shape), shape_str(got.shape), what .. ": shape")
  local g = flat(got)
  assert.are.equal(#want.data, #g, what .. ": numel")
  for i, w in ipairs(want.data) do
    local v = g[i]
    if w ~= w then
      assert(v ~= v, ("%s[%d]: expected nan, got %s"):format(what, i, tostring(v)))
    else
      assert(math.abs(v - w) <= tol * (1 + math.abs(w)),
        ("%s[%d]: got %.10g, expected %.10g"):format(what, i, v, w))
    end
  end
end

local function opts_for(case, dtype)
  local o = {}
  for k, v in pairs(case.opts or {}) do
    o[k] = type(v) == "table" and make(v, dtype) or v
  end
  return o
end

local function run_case(case, x, y, dtype)
  if case.dim then
    return tg[case.fn](x, case.dim)
  end
  return F[case.fn](x, y, opts_for(case, dtype))
end

-- tgrad's grad_fn where it knowingly differs from PyTorch's composite
-- (label smoothing is PyTorch's AddBackward0 of two terms, as tgrad's): a 3-D nll with reduction "none" is NllLoss2D without PyTorch's
-- trailing view; a division by a Lua number is DivBackward0 (PyTorch: DivBackward1).
local function expected_grad_fn(case)
  local name = case.grad_fn
  if name == "ViewBackward0" then return "NllLoss2DBackward0" end
  if name == "DivBackward1" then return "DivBackward0" end
  return name
end

---------------------------------------------------------------- fixtures
describe("nn.functional against PyTorch fixtures", function()
  for _, case in ipairs(fixtures) do
    for _, dtype in ipairs({tg.float64, tg.float32}) do
      local tol = dtype == tg.float64 and 1e-9 or 3e-5
      it(case.name .. " (" .. tostring(dtype) .. ")", function()
        local x = make(case.input, dtype, true)
        local y = case.target and make(case.target, dtype, case.grad_target ~= nil) or nil
        local out = run_case(case, x, y, dtype)
        assert.are.equal(dtype, out.dtype)
        check_values(out, case.out, tol, "output")
        assert.are.equal(expected_grad_fn(case), out.grad_fn.name)
        if case.forward_only then return end
        out:backward(make(case.grad_out, dtype))
        check_values(x.grad, case.grad_input, tol, "input grad")
        if case.grad_target then
          check_values(y.grad, case.grad_target, tol, "target grad")
        elseif y and y.dtype ~= tg.int64 then
          assert.is_nil(y.grad)
        end
        if case.grad_target then -- again with a target that does not require grad
          local x2 = make(case.input, dtype, true)
          run_case(case, x2, make(case.target, dtype), dtype):backward(make(case.grad_out, dtype))
          check_values(x2.grad, case.grad_input, tol, "input grad (constant target)")
        end
        -- the differentiable form of each backward (create_graph) gives the same numbers
        local ins = {x}
        if case.grad_target then ins[2] = y end
        local gs = tg.autograd.grad(run_case(case, x, y, dtype), ins, make(case.grad_out, dtype), {create_graph = true})
        check_values(gs[1], case.grad_input, tol, "input grad (create_graph)")
        if case.grad_target then check_values(gs[2], case.grad_target, tol, "target grad (create_graph)") end
      end)
    end
    local has_nan = false
    for _, v in ipairs(case.out.data) do has_nan = has_nan or v ~= v end
    if not case.forward_only and not has_nan then
      it(case.name .. ": gradcheck (float64)", function()
        local x = make(case.input, tg.float64, true)
        local y = case.target and make(case.target, tg.float64, case.grad_target ~= nil) or nil
        local inputs = {x}
        if case.grad_target then inputs[2] = y end
        local fn = function(a, b) return run_case(case, a, b or y, tg.float64) end
        assert.is_true(tg.autograd.gradcheck(fn, inputs))
      end)
    end
  end
end)

---------------------------------------------------------------- softmax
describe("softmax / log_softmax", function()
  it("are functions, methods and F entries", function()
    local x = tg.randn(3, 4)
    assert.are.equal(tg.F, tg.nn.functional)
    for _, name in ipairs({"softmax", "log_softmax"}) do
      local a, b, c = tg[name](x, 2), x[name](x, 2), F[name](x, 2)
      assert.are.same(flat(a), flat(b))
      assert.are.same(flat(a), flat(c))
    end
  end)

  it("rows of softmax sum to 1 and exp(log_softmax) == softmax", function()
    local x = tg.randn(6, 7, {dtype = tg.float64}) * 10
    local s = tg.softmax(x, 2):sum(2)
    for _, v in ipairs(flat(s)) do assert(math.abs(v - 1) < 1e-12) end
    local a, b = flat(tg.softmax(x, 1)), flat(tg.log_softmax(x, 1):exp())
    for i = 1, #a do assert(math.abs(a[i] - b[i]) < 1e-12) end
  end)

  it("is stable for huge and -inf inputs", function()
    local x = tg.tensor({{1e30, 0.0, -1e30}, {-math.huge, 0.0, 1.0}})
    local s, l = flat(tg.softmax(x, 2)), flat(tg.log_softmax(x, 2))
    assert.are.same({1, 0, 0}, {s[1], s[2], s[3]})
    assert.are.equal(0, s[4])
    assert.are.equal(-math.huge, l[4])
    for _, v in ipairs(s) do assert(v == v) end
  end)

  it("float32 sums in double: a 100000-wide row still sums to 1", function()
    local x = tg.randn(2, 100000)
    for _, v in ipairs(flat(tg.softmax(x, 2):double():sum(2))) do assert(math.abs(v - 1) < 1e-5) end
    local l = tg.log_softmax(tg.zeros(1, 100000), 2)
    assert(math.abs(flat(l)[1] + math.log(100000)) < 1e-5)
  end)

  it("takes non-contiguous inputs and gradients", function()
    local base = tg.randn(5, 4, {dtype = tg.float64})
    local xt = base:t() -- (4, 5) transposed view
    local xc = xt:contiguous()
    for _, name in ipairs({"softmax", "log_softmax"}) do
      for dim = 1, 2 do
        assert.are.same(flat(tg[name](xc, dim)), flat(tg[name](xt, dim)))
      end
      local a = xt:detach():requires_grad_(true)
      local b = xc:detach():requires_grad_(true)
      local g = tg.randn(5, 4, {dtype = tg.float64})
      tg[name](a, 2):backward(g:t())
      tg[name](b, 2):backward(g:t():contiguous())
      local ga, gb = flat(a.grad), flat(b.grad)
      for i = 1, #ga do assert(math.abs(ga[i] - gb[i]) < 1e-14) end
    end
  end)

  it("gives the same numbers with 1 and 2 threads on large inputs", function()
    local x = tg.randn(300, 200)
    local x3 = tg.randn(40, 30, 50)
    local prev = tg.get_num_threads()
    local res = {}
    for _, n in ipairs({1, 2}) do
      tg.set_num_threads(n)
      res[n] = {flat(tg.softmax(x, 2)), flat(tg.log_softmax(x3, 2)), flat(tg.softmax(x, 1))}
    end
    tg.set_num_threads(prev)
    for k = 1, 3 do assert.are.same(res[1][k], res[2][k]) end
  end)

  it("casts with {dtype=}", function()
    local x = tg.tensor({1.0, 2.0, 3.0})
    local s = tg.softmax(x, 1, {dtype = tg.float64})
    assert.are.equal(tg.float64, s.dtype)
    assert(math.abs(flat(s)[3] - 0.66524095577) < 1e-9)
  end)

  it("double backward: gradcheck of the gradient (create_graph)", function()
    for _, name in ipairs({"softmax", "log_softmax"}) do
      for _, dim in ipairs({1, 2}) do
        local w = tg.randn(3, 4, {dtype = tg.float64})
        local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
        local fn = function(a)
          return tg.enable_grad(function()
            local out = (tg[name](a, dim) * w):sum()
            return tg.autograd.grad(out, a, {create_graph = true})[1]
          end)
        end
        assert.is_true(tg.autograd.gradcheck(fn, {x}))
      end
    end
  end)

  it("raises clean errors", function()
    errors("Dimension out of range (expected to be in range of [-2, 2], but got 3)", tg.softmax, tg.randn(2, 3), 3)
    errors("not implemented for 'Long'", tg.softmax, tg.tensor({1, 2}), 1)
    errors("argument 'dim'", tg.log_softmax, tg.randn(3))
  end)
end)

---------------------------------------------------------------- losses
describe("losses", function()
  it("cross_entropy is log_softmax + nll_loss as in PyTorch", function()
    local x = tg.randn(4, 5, {requires_grad = true})
    local t = tg.tensor({1, 5, 3, 2})
    local l = F.cross_entropy(x, t)
    assert.are.equal("NllLossBackward0", l.grad_fn.name)
    assert.are.equal("LogSoftmaxBackward0", l.grad_fn.next_functions[1][1].name)
    local l2 = F.nll_loss(F.log_softmax(x, 2), t)
    assert(math.abs(l:item() - l2:item()) < 1e-6)
    assert.are.equal("NllLoss2DBackward0", F.cross_entropy(tg.randn(2, 3, 4, 4, {requires_grad = true}),
      tg.randint(1, 4, {2, 4, 4})).grad_fn.name)
  end)

  it("cross_entropy gradient is softmax - onehot over the batch", function()
    local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
    local t = tg.tensor({2, 4, 1})
    F.cross_entropy(x, t):backward()
    local p = flat(tg.softmax(x:detach(), 2))
    local g = flat(x.grad)
    local ids = {2, 4, 1}
    for n = 1, 3 do
      for c = 1, 4 do
        local k = (n - 1) * 4 + c
        local want = (p[k] - (c == ids[n] and 1 or 0)) / 3
        assert(math.abs(g[k] - want) < 1e-12)
      end
    end
  end)

  it("double backward through cross_entropy, nll_loss and the fused losses", function()
    local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
    local t = tg.tensor({2, -100, 1})
    local w = tg.rand(4, {dtype = tg.float64}) + 0.5
    local y = tg.rand(3, 4, {dtype = tg.float64})
    local p = tg.rand(3, 4, {dtype = tg.float64}) * 0.8 + 0.1
    local cases = {
      function(a) return F.cross_entropy(a, t, {weight = w, label_smoothing = 0.1}) end,
      function(a) return F.cross_entropy(a, t, {reduction = "sum"}) end,
      function(a) return (F.nll_loss(a, t, {weight = w, reduction = "none"}) ^ 2):sum() end,
      function(a) return F.mse_loss(a, y) end,
      function(a) return F.smooth_l1_loss(a, y, {beta = 2.0}) end,
      function(a) return F.huber_loss(a, y, {delta = 3.0}) end,
      function(a) return F.binary_cross_entropy_with_logits(a, y) end,
      function(a) return F.binary_cross_entropy(tg.sigmoid(a), p, {weight = w}) end,
      function(a) return F.kl_div(F.log_softmax(a, 2), y, {reduction = "batchmean"}) end,
    }
    for i, loss in ipairs(cases) do
      local fn = function(a)
        return tg.enable_grad(function() return tg.autograd.grad(loss(a), a, {create_graph = true})[1] end)
      end
      local ok, err = pcall(tg.autograd.gradcheck, fn, {x})
      assert(ok and err == true, ("case %d: %s"):format(i, tostring(err)))
    end
  end)

  it("nll_loss mean with all entries ignored is nan, sum is 0, gradients 0", function()
    local x = tg.randn(2, 3, {requires_grad = true})
    local t = tg.tensor({-100, -100})
    local m = F.nll_loss(x, t)
    assert(m:item() ~= m:item())
    local s = F.nll_loss(x, t, {reduction = "sum"})
    assert.are.equal(0, s:item())
    s:backward()
    for _, v in ipairs(flat(x.grad)) do assert.are.equal(0, v) end
  end)

  it("ignore_index is a 1-based class id", function()
    local x = tg.randn(3, 4)
    local a = F.cross_entropy(x, tg.tensor({1, 2, 3}), {ignore_index = 2, reduction = "none"})
    assert.are.equal(0, flat(a)[2])
    local b = F.cross_entropy(x:narrow(1, 1, 1), tg.tensor({1}))
    local c = F.cross_entropy(x:narrow(1, 3, 1), tg.tensor({3}))
    local m = F.cross_entropy(x, tg.tensor({1, 2, 3}), {ignore_index = 2})
    assert(math.abs(m:item() - (b:item() + c:item()) / 2) < 1e-6)
  end)

  it("mixes dtypes: float64 weight with float32 input", function()
    local x = tg.randn(3, 4)
    local l = F.cross_entropy(x, tg.tensor({1, 2, 3}), {weight = tg.ones(4, {dtype = tg.float64})})
    assert.are.equal(tg.float32, l.dtype)
    assert(math.abs(l:item() - F.cross_entropy(x, tg.tensor({1, 2, 3})):item()) < 1e-6)
  end)

  it("binary_cross_entropy clamps the log at -100", function()
    local l = F.binary_cross_entropy(tg.tensor({0.0, 1.0}), tg.tensor({1.0, 0.0}), {reduction = "none"})
    assert.are.same({100, 100}, flat(l))
    local x = tg.tensor({0.0, 1.0}, {requires_grad = true})
    F.binary_cross_entropy(x, tg.tensor({0.0, 1.0}), {reduction = "sum"}):backward()
    assert.are.same({0, 0}, flat(x.grad))
  end)

  it("raise PyTorch's errors", function()
    local x = tg.randn(3, 5)
    errors("Target 7 is out of bounds.", F.cross_entropy, x, tg.tensor({1, 7, 2}))
    errors("Target 0 is out of bounds.", F.cross_entropy, x, tg.tensor({1, 0, 2}))
    errors("Target -1 is out of bounds.", F.nll_loss, x, tg.tensor({1, -1, 2}))
    errors("Target 6 is out of bounds.", F.cross_entropy, x, tg.tensor({1, 6, 2}), {label_smoothing = 0.1})
    errors("expected target dtype to be Long", F.nll_loss, x, tg.tensor({1.0, 2.0, 3.0}))
    errors("expected target dtype to be Long", F.cross_entropy, x, tg.tensor({true, false, true}))
    errors("Expected floating point type for target with class probabilities, got Long", F.cross_entropy, x,
      tg.zeros(3, 5, {dtype = tg.int64}))
    errors("Expected input batch_size (3) to match target batch_size (2).", F.cross_entropy, x, tg.tensor({1, 2}))
    errors("0D or 1D target tensor expected, multi-target not supported", F.nll_loss, x, tg.ones(3, 1, {dtype = tg.int64}))
    errors("Expected target size [2, 4], got [2, 5]", F.cross_entropy, tg.randn(2, 3, 4),
      tg.ones(2, 5, {dtype = tg.int64}))
    errors("weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [3]",
      F.cross_entropy, x, tg.tensor({1, 2, 3}), {weight = tg.ones(3)})
    errors("label_smoothing must be between 0.0 and 1.0. Got: 1.5", F.cross_entropy, x, tg.tensor({1, 2, 3}),
      {label_smoothing = 1.5})
    errors("Expected 1 or more dimensions (got 0)", F.nll_loss, tg.tensor(1.0), tg.tensor(1))
    errors("not implemented for 'Long'", F.cross_entropy, tg.ones(3, 5, {dtype = tg.int64}), tg.tensor({1, 2, 3}))
    errors("all elements of input should be between 0 and 1", F.binary_cross_entropy, tg.tensor({0.5, 1.5}),
      tg.tensor({0.0, 1.0}))
    errors("all elements of input should be between 0 and 1", F.binary_cross_entropy, tg.tensor({0/0, 0.5}),
      tg.tensor({0.0, 1.0}))
    errors("Using a target size (torch.Size([3])) that is different to the input size (torch.Size([2]))",
      F.binary_cross_entropy, tg.tensor({0.5, 0.5}), tg.tensor({0.0, 1.0, 1.0}))
    errors("Target size (torch.Size([3])) must be the same as input size (torch.Size([2]))",
      F.binary_cross_entropy_with_logits, tg.tensor({0.5, 0.5}), tg.tensor({0.0, 1.0, 1.0}))
    errors("smooth_l1_loss does not support negative values for beta.", F.smooth_l1_loss, tg.randn(2), tg.randn(2),
      {beta = -1.0})
    errors("huber_loss does not support non-positive values for delta.", F.huber_loss, tg.randn(2), tg.randn(2),
      {delta = 0.0})
    errors("The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1", F.l1_loss,
      tg.randn(2), tg.randn(3))
    errors("foo is not a valid value for reduction", F.mse_loss, tg.randn(2), tg.randn(2), {reduction = "foo"})
    errors("batchmean is not a valid value for reduction", F.cross_entropy, x, tg.tensor({1, 2, 3}),
      {reduction = "batchmean"})
    errors("option 'weight' must be a Tensor", F.nll_loss, x, tg.tensor({1, 2, 3}), {weight = {1, 2, 3, 4, 5}})
    errors("expected Tensor", F.cross_entropy, x, 3)
  end)

  it("leave the graph out under no_grad", function()
    local x = tg.randn(2, 3, {requires_grad = true})
    local l = tg.no_grad(F.cross_entropy, x, tg.tensor({1, 2}))
    assert.is_nil(l.grad_fn)
    assert.is_false(l.requires_grad)
  end)
end)
