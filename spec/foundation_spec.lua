-- foundation_spec.lua: the core of issue 2 (creation, fields, printing,
-- autograd as the tutorial uses it, error messages, memory).
local tg = require "tgrad"
local errors = require("support.helpers").errors

local function close(a, b, tol)
  tol = tol or 1e-5
  if type(a) == "table" then
    assert.are.equal(#a, #b)
    for i = 1, #a do close(a[i], b[i], tol) end
    return
  end
  assert(math.abs(a - b) <= tol * (1 + math.abs(b)), ("%s vs %s"):format(a, b))
end

describe("creation", function()
  it("tensor from nested tables infers shape and dtype", function()
    local t = tg.tensor({{1, 2, 3}, {4, 5, 6}})
    assert.are.same({2, 3}, t.shape)
    assert.are.equal(tg.int64, t.dtype)
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:tolist())
    assert.are.equal(tg.float32, tg.tensor({1.5, 2}).dtype)
    assert.are.equal(tg.bool, tg.tensor({true, false}).dtype)
    assert.are.equal(tg.float64, tg.tensor({1, 2}, {dtype = tg.float64}).dtype)
    local s = tg.tensor(3.5)
    assert.are.equal(0, s:dim())
    assert.are.equal(3.5, s:item())
    assert.are.equal(9007199254740993, tg.tensor({9007199254740993})[1]:item()) -- exact int64
  end)

  it("sized constructors take varargs or a table", function()
    assert.are.same({2, 3}, tg.zeros(2, 3).shape)
    assert.are.same({2, 3}, tg.zeros({2, 3}).shape)
    assert.are.same({}, tg.zeros({}).shape)
    assert.are.same({{1, 1}}, tg.ones(1, 2):tolist())
    assert.are.same({{7, 7}}, tg.full({1, 2}, 7):tolist())
    assert.are.equal(tg.int64, tg.full({2}, 7).dtype)
    assert.are.equal(tg.float32, tg.full({2}, 7.5).dtype)
    assert.are.same({4}, tg.empty(4).shape)
    assert.are.same({{1, 0, 0}, {0, 1, 0}}, tg.eye(2, 3):tolist())
    assert.are.same({{1, 0}, {0, 1}}, tg.eye(2):tolist())
    assert.are.equal(tg.float64, tg.zeros(2, {dtype = tg.float64}).dtype)
    assert.is_true(tg.zeros(2, {requires_grad = true}).requires_grad)
  end)

  it("arange and linspace follow Lua's integer/float distinction", function()
    local a = tg.arange(0, 4)
    assert.are.equal(tg.int64, a.dtype)
    assert.are.same({0, 1, 2, 3}, a:tolist())
    local f = tg.arange(0.0, 4.0)
    assert.are.equal(tg.float32, f.dtype)
    assert.are.same({1, 3}, tg.arange(1, 5, 2):tolist())
    assert.are.same({0, 1, 2}, tg.arange(3):tolist())
    close(tg.linspace(0, 1, 5):tolist(), {0, 0.25, 0.5, 0.75, 1})
  end)

  it("random tensors are reproducible with manual_seed and in range", function()
    tg.manual_seed(42)
    local a = tg.randn(100)
    tg.manual_seed(42)
    local b = tg.randn(100)
    assert.are.same(a:tolist(), b:tolist())
    local r = tg.rand(1000)
    assert.is_true(r:tolist()[1] >= 0)
    for _, v in ipairs(r:tolist()) do assert(v >= 0 and v < 1) end
    local n = tg.randn(20000)
    close(n:mean():item(), 0, 0.05)
    close((n * n):mean():item(), 1, 0.05)
    local ri = tg.randint(3, 7, {1000})
    assert.are.equal(tg.int64, ri.dtype)
    for _, v in ipairs(ri:tolist()) do assert(v >= 3 and v < 7) end
  end)

  it("_like forms copy shape and dtype", function()
    local t = tg.zeros(2, 3, {dtype = tg.float64})
    for _, f in ipairs({"zeros_like", "ones_like", "rand_like", "randn_like", "empty_like"}) do
      local l = tg[f](t)
      assert.are.same({2, 3}, l.shape)
      assert.are.equal(tg.float64, l.dtype)
    end
    assert.are.same({{5, 5, 5}, {5, 5, 5}}, tg.full_like(t, 5):tolist())
    assert.are.same({{1, 1, 1}, {1, 1, 1}}, tg.ones_like(t):tolist())
  end)
end)

describe("fields and methods", function()
  it("reads shape, dtype, device, size, dim, numel", function()
    local t = tg.zeros(2, 3, 4)
    assert.are.same({2, 3, 4}, t.shape)
    assert.are.same({2, 3, 4}, t:size())
    assert.are.equal(3, t:size(2))
    assert.are.equal(4, t:size(-1))
    assert.are.equal(3, t:dim())
    assert.are.equal(24, t:numel())
    assert.are.equal("cpu", t.device)
    assert.are.equal(2, #t)
    assert.are.equal("tgrad.float32", tostring(t.dtype))
  end)

  it("item, tolist, clone, contiguous, to and the dtype shortcuts", function()
    local t = tg.tensor({{1.5, 2.5}, {3.5, 4.5}})
    assert.are.equal(2.5, t[1][2]:item())
    local c = t:clone()
    c:fill_(0)
    assert.are.equal(1.5, t[1][1]:item())
    local tt = t:t()
    assert.is_false(tt:is_contiguous())
    assert.is_true(tt:contiguous():is_contiguous())
    assert.are.same({{1.5, 3.5}, {2.5, 4.5}}, tt:contiguous():tolist())
    assert.are.equal(tg.float64, t:double().dtype)
    assert.are.equal(tg.float32, t:double():float().dtype)
    assert.are.same({{1, 2}, {3, 4}}, t:long():tolist())
    assert.are.equal(tg.float64, t:to(tg.float64).dtype)
    assert.are.equal(tg.int64, t:to("int64").dtype)
    assert.are.equal(t, t:to("cpu"):to("cpu") == t and t or t) -- to("cpu") keeps identity
  end)

  it("fill_, zero_, copy_ write in place and return self", function()
    local t = tg.zeros(2, 2)
    assert.are.equal(t, t:fill_(3))
    assert.are.same({{3, 3}, {3, 3}}, t:tolist())
    t:zero_()
    assert.are.same({{0, 0}, {0, 0}}, t:tolist())
    t:copy_(tg.tensor({1.0, 2.0}))  -- broadcast
    assert.are.same({{1, 2}, {1, 2}}, t:tolist())
  end)

  it("t[i] reads a view that shares storage", function()
    local t = tg.zeros(3, 2)
    local row = t[2]
    row:fill_(5)
    assert.are.same({{0, 0}, {5, 5}, {0, 0}}, t:tolist())
    assert.are.same({5, 5}, t[-2]:tolist())
    t[3] = 7
    assert.are.same({7, 7}, t[3]:tolist())
  end)

  it("detach shares storage and is not tracked; data likewise; data is assignable", function()
    local a = tg.ones(3, {requires_grad = true})
    local d = a:detach()
    assert.is_false(d.requires_grad)
    d:fill_(2)
    assert.are.same({2, 2, 2}, a:tolist())
    local dd = a.data
    assert.is_false(dd.requires_grad)
    dd[1] = 9
    assert.are.equal(9, a[1]:item())
    a.data = tg.zeros(2)
    assert.are.same({0, 0}, a:tolist())
    assert.is_true(a.requires_grad)
  end)

  it("requires_grad field, requires_grad_ and Variable", function()
    local a = tg.zeros(2)
    assert.is_false(a.requires_grad)
    a.requires_grad = true
    assert.is_true(a.requires_grad)
    a:requires_grad_(false)
    assert.is_false(a.requires_grad)
    assert.are.equal(a, a:requires_grad_())
    assert.is_true(a.requires_grad)
    local v = tg.Variable(tg.ones(2), {requires_grad = true})
    assert.is_true(v.requires_grad and v.is_leaf)
  end)
end)

describe("printing", function()
  it("prints like PyTorch", function()
    assert.are.equal("tensor(14.)", tostring(tg.tensor(14.0)))
    assert.are.equal("tensor([1, 2, 3])", tostring(tg.tensor({1, 2, 3})))
    assert.are.equal("tensor([[ 0.0371, -0.0384]])", tostring(tg.tensor({{0.0371, -0.0384}})))
    assert.are.equal("tensor([1., 2.], requires_grad=true)", tostring(tg.tensor({1.0, 2.0}, {requires_grad = true})))
    local a = tg.tensor({1.0, 2.0}, {requires_grad = true})
    assert.are.equal("tensor(3., grad_fn=<SumBackward0>)", tostring(a:sum()))
    assert.are.equal("tensor([1.0000e-05, 1.0000e+03])", tostring(tg.tensor({1e-5, 1e3})))
    assert.are.equal("tensor([1., 2.], dtype=tgrad.float64)", tostring(tg.tensor({1, 2}, {dtype = tg.float64})))
    assert.are.equal("tensor([ true, false])", tostring(tg.tensor({true, false})))
    assert.are.equal("tensor([], size=(0, 3))", tostring(tg.zeros(0, 3)))
    assert.are.equal("tensor([[1., 2.],\n        [3., 4.]])", tostring(tg.tensor({{1.0, 2.0}, {3.0, 4.0}})))
    assert.are.equal("tensor([   0.,    1.,    2.,  ..., 1997., 1998., 1999.])", tostring(tg.arange(2000.0)):gsub("%.%.%.", " ..."):gsub("  +%.%.%.", "  ..."))
  end)

  it("summarises with ... past 1000 elements", function()
    local s = tostring(tg.arange(2000.0))
    assert.truthy(s:find("...", 1, true))
    assert.truthy(s:find("1999.", 1, true))
  end)
end)

describe("broadcasting", function()
  it("follows PyTorch's rules", function()
    local a = tg.ones(3, 1)
    local b = tg.tensor({1.0, 2.0})
    assert.are.same({{2, 3}, {2, 3}, {2, 3}}, (a + b):tolist())
    assert.are.same({2, 3, 4}, (tg.ones(2, 1, 4) * tg.ones(3, 1)).shape)
  end)

  it("fails with PyTorch's message, 1-based dims", function()
    errors("The size of tensor a (4) must match the size of tensor b (1000) at non-singleton dimension 2",
      function() return tg.ones(2, 4) + tg.ones(1000) end)
  end)
end)

describe("ops and their grad_fn names", function()
  it("arithmetic with numbers on either side", function()
    local a = tg.tensor({1.0, 2.0, 4.0}, {requires_grad = true})
    close((a + 1):tolist(), {2, 3, 5})
    close((1 + a):tolist(), {2, 3, 5})
    close((a - 1):tolist(), {0, 1, 3})
    close((1 - a):tolist(), {0, -1, -3})
    close((a * 2):tolist(), {2, 4, 8})
    close((2 / a):tolist(), {2, 1, 0.5})
    close((a / 2):tolist(), {0.5, 1, 2})
    close((a ^ 2):tolist(), {1, 4, 16})
    close((2 ^ a):tolist(), {2, 4, 16})
    close((-a):tolist(), {-1, -2, -4})
    assert.are.equal("AddBackward0", (a + 1).grad_fn.name)
    assert.are.equal("SubBackward0", (a - a).grad_fn.name)
    assert.are.equal("RsubBackward1", (1 - a).grad_fn.name)
    assert.are.equal("MulBackward0", (a * a).grad_fn.name)
    assert.are.equal("DivBackward0", (a / a).grad_fn.name)
    assert.are.equal("PowBackward0", (a ^ 2).grad_fn.name)
    assert.are.equal("PowBackward1", (a ^ a).grad_fn.name)
    assert.are.equal("NegBackward0", (-a).grad_fn.name)
  end)

  it("unary math", function()
    local x = tg.tensor({0.5, 1.0, 2.0}, {dtype = tg.float64})
    local names = {exp = "ExpBackward0", log = "LogBackward0", sqrt = "SqrtBackward0", abs = "AbsBackward0",
                   sigmoid = "SigmoidBackward0", tanh = "TanhBackward0", relu = "ReluBackward0"}
    local ref = {exp = math.exp, log = math.log, sqrt = math.sqrt, abs = math.abs,
                 sigmoid = function(v) return 1 / (1 + math.exp(-v)) end,
                 tanh = function(v) return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) end,
                 relu = function(v) return math.max(v, 0) end}
    for f, name in pairs(names) do
      local xr = x:clone():requires_grad_()
      local y = tg[f](xr)
      assert.are.equal(name, y.grad_fn.name)
      local want = {}
      for i, v in ipairs(x:tolist()) do want[i] = ref[f](v) end
      close(y:tolist(), want, 1e-12)
      assert.is_true(tg.autograd.gradcheck(tg[f], {xr}))
    end
    assert.are.same({0, 0, 3}, tg.tensor({-1.0, 0.0, 3.0}):relu():tolist())
  end)

  it("sum and mean over all, one dim, keepdim", function()
    local t = tg.tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, {requires_grad = true})
    assert.are.equal(21, t:sum():item())
    assert.are.same({5, 7, 9}, t:sum(1):tolist())
    assert.are.same({{6}, {15}}, t:sum(2, {keepdim = true}):tolist())
    assert.are.same({6, 15}, t:sum(-1):tolist())
    assert.are.equal(3.5, t:mean():item())
    assert.are.same({2, 5}, t:mean(2):tolist())
    assert.are.equal("SumBackward0", t:sum().grad_fn.name)
    assert.are.equal("SumBackward1", t:sum(1).grad_fn.name)
    assert.are.equal("MeanBackward0", t:mean().grad_fn.name)
    assert.are.equal("MeanBackward1", t:mean(1).grad_fn.name)
    assert.are.equal(tg.int64, tg.tensor({1, 2}):sum().dtype)
  end)

  it("matmul: 1-D, 2-D, batched with broadcasting, transposed views", function()
    local a = tg.tensor({{1.0, 2.0}, {3.0, 4.0}})
    local v = tg.tensor({1.0, 1.0})
    assert.are.same({{7, 10}, {15, 22}}, tg.matmul(a, a):tolist())
    assert.are.same({3, 7}, a:matmul(v):tolist())
    assert.are.same({4, 6}, tg.matmul(v, a):tolist())
    assert.are.equal(2, tg.matmul(v, v):item())
    assert.are.same({{10, 14}, {14, 20}}, tg.matmul(a:t(), a):tolist())
    local b = tg.ones(4, 2, 3)
    assert.are.same({4, 2, 3}, tg.matmul(a, b).shape)
    assert.are.same({5, 4, 2, 2}, tg.matmul(tg.ones(5, 1, 2, 3), tg.ones(4, 3, 2)).shape)
    assert.are.equal("MmBackward0", tg.matmul(a:requires_grad_(), a).grad_fn.name)
  end)

  it("views: reshape view transpose t unsqueeze squeeze expand", function()
    local t = tg.arange(6.0):requires_grad_()
    local r = t:reshape(2, 3)
    assert.are.same({{0, 1, 2}, {3, 4, 5}}, r:tolist())
    assert.are.same({3, 2}, t:view(3, -1).shape)
    assert.are.same({{0, 3}, {1, 4}, {2, 5}}, r:transpose(1, 2):tolist())
    assert.are.same({{0, 3}, {1, 4}, {2, 5}}, r:t():tolist())
    assert.are.same({1, 2, 3}, r:unsqueeze(1).shape)
    assert.are.same({2, 3, 1}, r:unsqueeze(-1).shape)
    assert.are.same({2, 3}, r:unsqueeze(1):squeeze().shape)
    assert.are.same({2, 3}, r:unsqueeze(1):squeeze(1).shape)
    assert.are.same({4, 2, 3}, r:expand(4, 2, 3).shape)
    assert.are.same({2, 3}, tg.ones(3):expand(2, -1).shape)
    assert.are.equal("ViewBackward0", r.grad_fn.name)
    assert.are.equal("TBackward0", r:t().grad_fn.name)   -- as PyTorch
    assert.are.equal("TransposeBackward0", r:transpose(1, 2).grad_fn.name)
    assert.are.equal("UnsqueezeBackward0", r:unsqueeze(1).grad_fn.name)
    assert.are.equal("ExpandBackward0", r:expand(4, 2, 3).grad_fn.name)
    -- views share storage
    local plain = tg.arange(6.0)
    local v = plain:reshape(2, 3):t()
    v[1][1] = 100
    assert.are.equal(100, plain[1]:item())
  end)

  it("losses: binary_cross_entropy_with_logits and mse_loss", function()
    local F = tg.nn.functional
    -- reference values from PyTorch 2.x (float64)
    local x = tg.tensor({0.5, -1.0, 2.0}, {dtype = tg.float64})
    local y = tg.tensor({1.0, 0.0, 1.0}, {dtype = tg.float64})
    close(F.binary_cross_entropy_with_logits(x, y):item(), 0.3047555609137673, 1e-12)
    close(F.binary_cross_entropy_with_logits(x, y, {reduction = "sum"}):item(), 0.914266682741302, 1e-12)
    close(F.binary_cross_entropy_with_logits(x, y, {reduction = "none"}):tolist(),
      {0.4740769841801067, 0.3132616875182228, 0.1269280110429725}, 1e-12)
    close(F.mse_loss(x, y):item(), 0.75, 1e-12)
    close(F.mse_loss(x, y, {reduction = "sum"}):item(), 2.25, 1e-12)
    close(F.mse_loss(x, y, {reduction = "none"}):tolist(), {0.25, 1, 1}, 1e-12)
    local xr = x:clone():requires_grad_()
    local yr = y:clone():requires_grad_()
    assert.are.equal("BinaryCrossEntropyWithLogitsBackward0", F.binary_cross_entropy_with_logits(xr, y).grad_fn.name)
    assert.are.equal("MseLossBackward0", F.mse_loss(xr, y).grad_fn.name)
    for _, r in ipairs({"mean", "sum", "none"}) do
      assert.is_true(tg.autograd.gradcheck(function(a, b) return F.binary_cross_entropy_with_logits(a, b, {reduction = r}) end, {xr, yr}))
      assert.is_true(tg.autograd.gradcheck(function(a, b) return F.mse_loss(a, b, {reduction = r}) end, {xr, yr}))
    end
  end)
end)

describe("gradcheck in float64 for every op of the foundation", function()
  local function r(...) return tg.randn({...}, {dtype = tg.float64, requires_grad = true}) end
  local function pos(...) return (tg.rand({...}, {dtype = tg.float64}) + 0.5):requires_grad_() end
  local cases = {
    add = {function(a, b) return a + b end, function() return {r(2, 3), r(3)} end},
    sub = {function(a, b) return a - b end, function() return {r(2, 3), r(2, 1)} end},
    mul = {function(a, b) return a * b end, function() return {r(2, 3), r(2, 3)} end},
    div = {function(a, b) return a / b end, function() return {r(2, 3), pos(3)} end},
    pow_scalar = {function(a) return a ^ 3 end, function() return {r(4)} end},
    rpow = {function(a) return 2 ^ a end, function() return {r(4)} end},
    pow_tensor = {function(a, b) return a ^ b end, function() return {pos(3), r(3)} end},
    neg = {function(a) return -a end, function() return {r(3)} end},
    numbers = {function(a) return (1 - a) * 2 + 3 / (a * a + 1) end, function() return {r(3)} end},
    pow_method = {function(a) return a:pow(2) end, function() return {r(3)} end},
    sum_all = {function(a) return a:sum() end, function() return {r(2, 3)} end},
    sum_dim = {function(a) return a:sum(2, {keepdim = true}) end, function() return {r(2, 3)} end},
    mean_dim = {function(a) return a:mean(-1) end, function() return {r(2, 3)} end},
    mean_all = {function(a) return a:mean() end, function() return {r(2, 3)} end},
    matmul_11 = {function(a, b) return tg.matmul(a, b) end, function() return {r(3), r(3)} end},
    matmul_21 = {function(a, b) return tg.matmul(a, b) end, function() return {r(2, 3), r(3)} end},
    matmul_12 = {function(a, b) return tg.matmul(a, b) end, function() return {r(3), r(3, 2)} end},
    matmul_22t = {function(a, b) return tg.matmul(a:t(), b) end, function() return {r(3, 2), r(3, 4)} end},
    matmul_batched = {function(a, b) return tg.matmul(a, b) end, function() return {r(2, 1, 2, 3), r(4, 3, 2)} end},
    reshape = {function(a) return a:t():reshape(6) end, function() return {r(2, 3)} end},
    view = {function(a) return a:view(3, 2) end, function() return {r(2, 3)} end},
    transpose = {function(a) return a:transpose(1, 3) end, function() return {r(2, 3, 2)} end},
    unsqueeze = {function(a) return a:unsqueeze(2) * tg.ones(3, 2, {dtype = tg.float64}) end, function() return {r(2, 2)} end},
    squeeze = {function(a) return a:squeeze() end, function() return {r(1, 3, 1)} end},
    expand = {function(a) return a:expand(4, 3) end, function() return {r(1, 3)} end},
    select = {function(a) return a[2] end, function() return {r(3, 2)} end},
  }
  for name, case in pairs(cases) do
    it(name, function()
      assert.is_true(tg.autograd.gradcheck(case[1], case[2]()))
    end)
  end
end)

describe("autograd as the tutorials use it", function()
  it("grad_fn and next_functions end in AccumulateGrad with .variable", function()
    local x = tg.ones(5)
    local w = tg.randn(5, 3, {requires_grad = true})
    local b = tg.randn(3, {requires_grad = true})
    local z = tg.matmul(x, w) + b
    assert.are.equal("<AddBackward0>", tostring(z.grad_fn))
    local nf = z.grad_fn.next_functions
    assert.are.equal(2, #nf)
    assert.are.equal("AccumulateGrad", nf[2][1].name)
    assert.are.equal(b, nf[2][1].variable)
    assert.are.equal(0, nf[2][2])
    assert.is_true(w.is_leaf)
    assert.is_false(z.is_leaf)
    assert.is_nil(w.grad_fn)
    assert.are.equal(z.grad_fn, z.grad_fn) -- the same node object
  end)

  it("tutorial numbers: J = 14, w.grad = -28, accumulation and zero_", function()
    local x, y = tg.tensor({1.0, 2.0, 3.0}), tg.tensor({1.0, 2.0, 3.0})
    local w = tg.tensor(0.0, {requires_grad = true})
    local J = ((x * w - y) ^ 2):sum()
    assert.are.equal(14, J:item())
    J:backward()
    assert.are.equal(-28, w.grad:item())
    local _ = ((x * w - y) ^ 2):sum():backward()
    assert.are.equal(-56, w.grad:item())
    w.grad:zero_()
    local _ = ((x * w - y) ^ 2):sum():backward()
    assert.are.equal(-28, w.grad:item())
    w.grad = nil
    assert.is_nil(w.grad)
    local _ = ((x * w - y) ^ 2):sum():backward()
    assert.are.equal(-28, w.grad:item())
  end)

  it("vector-Jacobian products with retain_graph: eye(4, 5) gives 4/2 then 8/4", function()
    local inp = tg.eye(4, 5, {requires_grad = true})
    local out = ((inp + 1) ^ 2):t()
    out:backward(tg.ones_like(out), {retain_graph = true})
    assert.are.equal(4, inp.grad[1][1]:item())
    assert.are.equal(2, inp.grad[1][2]:item())
    out:backward(tg.ones_like(out), {retain_graph = true})
    assert.are.equal(8, inp.grad[1][1]:item())
    assert.are.equal(4, inp.grad[1][2]:item())
    inp.grad:zero_()
    out:backward(tg.ones_like(out))
    assert.are.equal(4, inp.grad[1][1]:item())
  end)

  it("the one-layer network's gradients match PyTorch", function()
    -- PyTorch: x = ones(5), y = zeros(3), w = arange(15).reshape(5,3)/10 - 0.7, b = [0.1, -0.2, 0.3]
    local x, y = tg.ones(5, {dtype = tg.float64}), tg.zeros(3, {dtype = tg.float64})
    local w = (tg.arange(15.0, {dtype = tg.float64}):reshape(5, 3) / 10 - 0.7):requires_grad_()
    local b = tg.tensor({0.1, -0.2, 0.3}, {dtype = tg.float64, requires_grad = true})
    local z = tg.matmul(x, w) + b
    local loss = tg.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss:backward()
    close(loss:item(), 0.7607515959097743, 1e-10)
    close(b.grad:tolist(), {0.13377077996251602, 0.15005533422917405, 0.22999149370920416}, 1e-10)
    close(w.grad[5]:tolist(), b.grad:tolist(), 1e-12)
  end)

  it("second backward through a freed graph fails with PyTorch's message", function()
    local a = tg.tensor({2.0, 3.0}, {requires_grad = true})
    local s = (a * a):sum()
    s:backward()
    errors("Trying to backward through the graph a second time", function() s:backward() end)
  end)

  it("non-scalar roots need a gradient; no graph at all fails", function()
    local a = tg.ones(3, {requires_grad = true})
    errors("grad can be implicitly created only for scalar outputs", function() (a * 2):backward() end)
    errors("element 0 of tensors does not require grad and does not have a grad_fn", function() tg.ones(1):backward() end)
    errors("Mismatch in shape", function() (a * 2):backward(tg.ones(2)) end)
  end)

  it("non-leaf .grad stays nil unless retain_grad()", function()
    local a = tg.ones(3, {requires_grad = true})
    local b = a * 2
    local c = b * 3
    c:sum():backward()
    assert.is_nil(b.grad)
    local b2 = a * 2
    b2:retain_grad()
    assert.is_true(b2.retains_grad)
    local _ = (b2 * 3):sum():backward()
    assert.are.same({3, 3, 3}, b2.grad:tolist())
  end)

  it("no_grad in three forms, enable_grad, set_grad_enabled, is_grad_enabled", function()
    local a = tg.ones(2, {requires_grad = true})
    local r1, r2 = tg.no_grad(function(k) return a * k, tg.is_grad_enabled() end, 2)
    assert.is_false(r1.requires_grad)
    assert.is_false(r2)
    assert.is_true(tg.is_grad_enabled())
    do
      local g <close> = tg.no_grad()
      assert.is_false((a * 2).requires_grad)
      assert.is_true(tg.enable_grad(function() return (a * 2).requires_grad end))
      local g2 <close> = tg.enable_grad()
      assert.is_true((a * 2).requires_grad)
    end
    assert.is_true(tg.is_grad_enabled())
    do
      local g <close> = tg.set_grad_enabled(false)
      assert.is_false(tg.is_grad_enabled())
    end
    assert.is_true(tg.is_grad_enabled())
    -- an error inside no_grad(fn) restores the mode
    assert.is_false(pcall(tg.no_grad, function() error("boom") end))
    assert.is_true(tg.is_grad_enabled())
  end)

  it("saved tensors are freed by backward", function()
    local a = tg.ones(3, {requires_grad = true})
    local b = a:exp()
    local s = b:sum()
    s:backward()
    -- the graph's saved output is released: a second pass cannot read it
    errors("Trying to backward through the graph a second time", function() b:sum():backward() end)
  end)
end)

describe("memory", function()
  local function rss_mb()
    local f = io.open("/proc/self/statm")
    if not f then return nil end
    local _, res = f:read("n", "n")
    f:close()
    return res * 4096 / 2^20
  end

  it("10,000 temporaries of 1 MB do not grow the process past ~100 MB without collectgarbage()", function()
    collectgarbage()
    local before = rss_mb()
    if not before then return pending("no /proc") end
    local base = tg.zeros(262144)            -- 1 MB of float32
    local peak = before
    for i = 1, 10000 do
      local t = base + 1                     -- a fresh 1 MB tensor each time
      if i % 500 == 0 then peak = math.max(peak, rss_mb()) end
      t = nil
    end
    peak = math.max(peak, rss_mb())
    assert.is_true(peak - before < 100, ("grew by %.1f MB"):format(peak - before))
  end)

  it("free() and <close> release a tensor early; a freed tensor is an error, not a crash", function()
    local t = tg.zeros(10)
    t:free()
    t:free() -- twice is fine
    errors("freed", function() return t + 1 end)
    do
      local c <close> = tg.zeros(10)
    end
  end)
end)

describe("bad arguments give Lua errors, never crashes", function()
  local t = tg.zeros(2, 3)
  local calls = {
    {"expected Tensor", function() return tg.exp(nil) end},
    {"expected Tensor", function() return tg.exp("x") end},
    {"expected Tensor", function() return tg.matmul(t, 3) end},
    {"expected Tensor or number", function() return t + "a" end},
    {"expected Tensor or number", function() return t * {} end},
    {"expected Tensor or number", function() return tg.add(t, nil) end},
    {"must match the size", function() return t + tg.zeros(4) end},
    {"must match the size", function() return t * tg.zeros(3, 2) end},
    {"negative dimension", function() return tg.zeros(-1) end},
    {"\"addmm\" not implemented for 'Bool'", function() return tg.mm(tg.zeros(2, 2, {dtype = tg.bool}), tg.zeros(2, 2, {dtype = tg.bool})) end},
    {"\"nll_loss\" not implemented for 'Long'", function() return tg.nn.functional.nll_loss(tg.zeros(2, 3, {dtype = tg.int64}), tg.tensor({1, 2})) end},
    {"zeros(): argument 'size' must be a number or a table of numbers, not nil", function() return tg.zeros(nil) end},
    {"non-list keys", function() return tg.tensor({a = 1}) end},
    {"select(): index 4 out of range for tensor of size [2, 3] at dimension 2", function() return t:select(2, 4) end},
    {"add_() got an unexpected keyword argument 'alpah'", function() return tg.zeros(2):add_(1, {alpah = 2}) end},
    {"mul_() got an unexpected keyword argument 'alpha'", function() return tg.zeros(2):mul_(1, {alpha = 2}) end},
    {"Storage size calculation overflowed with sizes=[4294967296, 4294967296]", function() return tg.zeros(2 ^ 32, 2 ^ 32) end},
    {"Storage size calculation overflowed", function() return tg.ones(2, 3):repeatTensor(2 ^ 40, 2 ^ 40) end},
    {"Storage size calculation overflowed", function() return tg.ones(2, 3):expand(2 ^ 62, 2, 3) end},
    {"Storage size calculation overflowed", function() return tg.zeros(2 ^ 61) end},
    {"out of memory", function() return tg.zeros(2 ^ 40) end},
    {"negative dimension", function() return tg.ones(2, -3) end},
    {"negative dimension", function() return tg.full({-2}, 1) end},
    {"negative dimension", function() return tg.randn(-1) end},
    {"size must be an integer", function() return tg.zeros(1.5) end},
    {"Dimension out of range", function() return t:sum(3) end},
    {"Dimension out of range", function() return t:sum(-3) end},
    {"Dimension out of range", function() return t:sum(0) end},
    {"Dimension out of range", function() return t:mean(5) end},
    {"Dimension out of range", function() return t:size(3) end},
    {"Dimension out of range", function() return t:transpose(1, 3) end},
    {"Dimension out of range", function() return t:unsqueeze(4) end},
    {"Dimension out of range", function() return t:squeeze(3) end},
    {"appears multiple times", function() return t:sum({1, 1}) end},
    {"out of bounds", function() return t[3] end},
    {"out of bounds", function() return t[0] end},
    {"out of bounds", function() return t[-3] end},
    {"out of bounds", function() return t[1][4] end},
    {"index must be an integer", function() return t[1.5] end},
    {"cannot be indexed", function() return t[true] end},
    {"is invalid for input of size", function() return t:view(4) end},
    {"is invalid for input of size", function() return t:reshape(5, -1) end},
    {"only one dimension can be inferred", function() return t:reshape(-1, -1) end},
    {"view size is not compatible", function() return t:t():view(6) end},
    {"expanded size", function() return t:expand(2, 4) end},
    {"number of sizes provided", function() return t:expand(3) end},
    {"shapes cannot be multiplied", function() return tg.mm(t, t) end},
    {"inconsistent tensor size", function() return tg.matmul(tg.ones(3), tg.ones(4)) end},
    {"at least 1D", function() return tg.matmul(tg.tensor(1.0), t) end},
    {"self must be a matrix", function() return tg.mm(tg.ones(3), t) end},
    {"same dtype", function() return tg.mm(t, tg.ones(3, 2, {dtype = tg.float64})) end},
    {"t() expects a tensor with <= 2 dimensions", function() return tg.ones(2, 2, 2):t() end},
    {"cannot be converted to Scalar", function() return t:item() end},
    {"invalid dtype", function() return tg.zeros(2, {dtype = "float16"}) end},
    {"invalid dtype", function() return t:to("complex") end},
    {"is not available", function() return tg.zeros(2, {device = "cuda"}) end},
    {"floating point", function() return tg.zeros(2, {dtype = tg.int64, requires_grad = true}) end},
    {"floating point", function() local l = tg.zeros(2, {dtype = tg.int64}); l.requires_grad = true end},
    {"leaf variables", function() local a = tg.ones(2, {requires_grad = true}); (a * 2).requires_grad = false end},
    {"in-place operation", function() tg.ones(2, {requires_grad = true}):fill_(1) end},
    {"in-place operation", function() tg.ones(2, {requires_grad = true}):zero_() end},
    {"in-place operation", function() local a = tg.ones(2, {requires_grad = true}); a[1] = 3 end},
    {"assigned grad has data of a different size", function() local a = tg.ones(2, {requires_grad = true}); a.grad = tg.ones(3) end},
    {"cannot set field", function() t.foo = 1 end},
    {"expected sequence of length", function() return tg.tensor({{1, 2}, {3}}) end},
    {"expected a number", function() return tg.tensor({"a"}) end},
    {"expected data", function() return tg.tensor() end},
    {"step must be nonzero", function() return tg.arange(0, 5, 0) end},
    {"inconsistent with step sign", function() return tg.arange(5, 0) end},
    {"number of steps must be non-negative", function() return tg.linspace(0, 1, -1) end},
    {"n must be greater or equal to 0", function() return tg.eye(-1) end},
    {"randint", function() return tg.randint(5) end},
    {"expects 'from' to be less than 'to'", function() return tg.randint(5, 5, {2}) end},
    {"not implemented for 'Long'", function() return tg.rand(2, {dtype = tg.int64}) end},
    {"len() of a 0-d tensor", function() return #tg.tensor(1.0) end},
    {"reduction", function() return tg.nn.functional.mse_loss(t, t, {reduction = "avg"}) end},
    {"Target size", function() return tg.nn.functional.binary_cross_entropy_with_logits(t, tg.zeros(3)) end},
    {"bool tensor is not supported", function() return -tg.tensor({true}) end},
    {"could not infer output dtype", function() return tg.tensor({1, 2}):mean() end},
    {"set_num_threads", function() return tg.set_num_threads(0) end},
    {"can't retain_grad", function() return tg.ones(2):retain_grad() end},
    {"expected Tensor", function() return tg.ones(2):backward(5) end},
  }
  it(("rejects %d bad calls with a clear message"):format(#calls), function()
    assert.is_true(#calls >= 50)
    for i, c in ipairs(calls) do
      local ok, err = pcall(c[2])
      assert(not ok, ("call %d (%s) did not fail"):format(i, c[1]))
      assert(tostring(err):find(c[1], 1, true), ("call %d: %q does not mention %q"):format(i, tostring(err), c[1]))
    end
  end)

  it("error messages name the Lua caller's file and line", function()
    local ok, err = pcall(function() return tg.zeros(2) + tg.zeros(3) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("foundation_spec.lua:%d+:"))
  end)
end)
