-- inplace_spec.lua: in-place ops (add_ sub_ mul_ div_ pow_ exp_ clamp_ zero_
-- fill_ copy_ relu_ sigmoid_ ..., t[i] = v): values, version counters shared
-- by views and detach(), the saved-tensor check, the leaf rule, and history
-- rebasing (including writes through views: CopySlices), with gradients
-- checked against PyTorch's numbers.
local tg = require "tgrad"
local helpers = require "support.helpers"
local flat = helpers.flat
local assert_close = helpers.assert_close

local function X() return tg.tensor({1, 2, 3, 4}, {dtype = tg.float64, requires_grad = true}) end
local W = tg.tensor({1, 2, 3, 4}, {dtype = tg.float64})

describe("in-place methods", function()
  it("exist for the ops.def unary ops and the arithmetic ops, return self, and compute", function()
    for _, name in ipairs{"neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "sin", "cos"} do
      local t = tg.tensor({0.5, 1.5})
      local expect = tg[name](t)
      local r = t[name .. "_"](t)
      assert.are.equal(t, r)
      assert_close(t, expect, 1e-6)
      assert.is_function(tg[name .. "_"])
    end
    local t = tg.tensor({1, 2, 3}, {dtype = tg.float64})
    t:add_(1):mul_(2):sub_(tg.tensor({1, 1, 1}, {dtype = tg.float64})):div_(2):pow_(2)
    assert_close(t, {2.25, 6.25, 12.25})
    t:add_(tg.ones(3, {dtype = tg.float64}), {alpha = 2})
    assert_close(t, {4.25, 8.25, 14.25})
    t:sub_(1, {alpha = 0.25})
    assert_close(t, {4, 8, 14})
    t:clamp_(5, 10)
    assert_close(t, {5, 8, 10})
    t:zero_()
    assert_close(t, {0, 0, 0})
    t:fill_(7)
    assert_close(t, {7, 7, 7})
    t:copy_(tg.tensor({1, 2, 3}))
    assert_close(t, {1, 2, 3})
    local i = tg.tensor({1, 2, 3})
    i = tg.tensor({-1, 2, -3}, {dtype = tg.int64})
    i:neg_():abs_()
    assert.are.same({1, 2, 3}, i:tolist())
    assert.are.equal(tg.int64, i.dtype)
  end)

  it("broadcast the other operand into self, never self into the result", function()
    local t = tg.zeros(2, 3)
    t:add_(tg.tensor({1, 2, 3}))
    assert_close(t, {{1, 2, 3}, {1, 2, 3}})
    assert.has_error(function() tg.zeros(3):add_(tg.ones(2, 3)) end,
      "output with shape [3] doesn't match the broadcast shape [2, 3]")
  end)

  it("refuse a result dtype that cannot be cast to self's", function()
    assert.has_error(function() tg.zeros(3, {dtype = tg.int64}):add_(1.5) end,
      "result type Float can't be cast to the desired output type Long")
    assert.has_error(function() tg.zeros(3, {dtype = tg.int64}):exp_() end,
      "result type Float can't be cast to the desired output type Long")
    local f = tg.zeros(2)
    f:add_(tg.ones(2, {dtype = tg.float64})) -- float64 into float32: fine
    assert.are.equal(tg.float32, f.dtype)
  end)

  it("refuse to write through an expanded (overlapping) view", function()
    assert.has_error(function() tg.ones(1, 3):expand(2, 3):mul_(2) end,
      "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.")
  end)

  it("ops outside ops.def get their in-place form from Lua (clamp_, ...)", function()
    local t = tg.tensor({-2, 0.5, 3})
    assert.are.equal(t, t:clamp_(-1, 1))
    assert_close(t, {-1, 0.5, 1})
    assert.is_function(tg.clamp_)
  end)
end)

describe("version counter", function()
  it("is shared by views and detach(), bumped by every in-place write", function()
    local a = tg.zeros(4)
    local v, d = a:narrow(1, 2, 2), a:detach()
    local v0 = a:_version()
    v:add_(1)
    assert.are.equal(v0 + 1, a:_version())
    assert.are.equal(a:_version(), d:_version())
    d:mul_(2)
    assert.are.equal(v0 + 2, v:_version())
    a[1] = 5
    assert.are.equal(v0 + 3, d:_version())
    assert_close(a, {5, 2, 2, 0})
  end)

  it("makes backward refuse a saved tensor modified in place, with PyTorch's message", function()
    local x = tg.tensor({1.0, 2.0}, {requires_grad = true})
    local y = x * 1
    local z = y * y
    y:add_(1)
    assert.has_error(function() z:sum():backward() end,
      "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of AddBackward0, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with tg.autograd.set_detect_anomaly(true).")
  end)

  it("catches a modification through detach() and through a view", function()
    local x = tg.tensor({1, 2}, {dtype = tg.float64, requires_grad = true})
    local y = x:exp()
    y:detach():zero_()
    local ok, err = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.matches("which is output 0 of ExpBackward0, is at version 1; expected version 0 instead", err, 1, true)
    local x2 = tg.tensor({{1, 2}, {3, 4}}, {dtype = tg.float64, requires_grad = true})
    local y2 = x2 * 1
    local prod = y2:select(2, 1) * y2:select(2, 2)
    y2:select(2, 2):mul_(2) -- writes into y2, whose columns prod saved
    local ok2, err2 = pcall(function() prod:sum():backward() end)
    assert.is_false(ok2)
    assert.matches("has been modified by an inplace operation", err2, 1, true)
  end)

  it("values saved by the graph of the very value written are refused as PyTorch does", function()
    -- (nodes made before the write that saved what it overwrites see the version bump;
    -- only the nodes of the in-place op itself keep the old contents)
    local x = tg.tensor({{1, 2}, {3, 4}}, {dtype = tg.float64, requires_grad = true})
    local y = x * 1
    local prod = y:select(2, 1) * y:select(2, 2)
    y[{{}, 2}] = prod
    assert_close(y, {{1, 2}, {3, 12}})
    local ok, err = pcall(function() prod:sum():backward() end)
    assert.is_false(ok)
    assert.matches("is at version 1; expected version 0 instead", err, 1, true)
  end)
end)

describe("the leaf rule", function()
  it("refuses an in-place op on a leaf that requires grad, before writing", function()
    local x = tg.tensor({1.0, 2.0}, {requires_grad = true})
    local msg = "a leaf Variable that requires grad is being used in an in-place operation."
    assert.has_error(function() x:add_(1) end, msg)
    assert.has_error(function() x:exp_() end, msg)
    assert.has_error(function() x:zero_() end, msg)
    assert.has_error(function() x:fill_(3) end, msg)
    assert.has_error(function() x:copy_(tg.ones(2)) end, msg)
    assert.has_error(function() x:clamp_(0, 1) end, msg)
    assert.has_error(function() x[1] = 5 end, "a view of " .. msg)
    assert_close(x, {1, 2})
    assert.are.equal(0, x:_version())
  end)

  it("refuses a view of such a leaf", function()
    local x = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
    assert.has_error(function() x:narrow(1, 1, 2):mul_(2) end,
      "a view of a leaf Variable that requires grad is being used in an in-place operation.")
    assert_close(x, {1, 2, 3})
  end)

  it("allows it under no_grad (optimizer updates)", function()
    local x = tg.tensor({1.0, 2.0}, {requires_grad = true})
    tg.no_grad(function() x:sub_(tg.tensor({0.5, 0.5})) end)
    assert_close(x, {0.5, 1.5})
    assert.is_true(x.is_leaf)
    assert.is_nil(x.grad_fn)
  end)
end)

describe("history rebasing (gradients against PyTorch)", function()
  it("on a non-leaf: the tensor takes the op's grad_fn", function()
    local x = X()
    local y = x * 1
    y:mul_(3)
    assert.are.equal("<MulBackward0>", tostring(y.grad_fn))
    y:exp_()
    assert.are.equal("<ExpBackward0>", tostring(y.grad_fn))
    y:sum():backward()
    local e = {}
    for i, v in ipairs{1, 2, 3, 4} do e[i] = math.exp(3 * v) * 3 end
    assert_close(x.grad, e)
  end)

  it("a chain pow_ div_ sub_(alpha) clamp_", function()
    local x = X()
    local y = x * 1
    y:pow_(2)
    y:div_(x + 1)
    y:sub_(x, {alpha = 2})
    y:clamp_(-3, 30)
    ;(y * y):sum():backward()
    assert_close(y, {-1.5, -2.666666666666667, -3, -3})
    assert_close(x.grad, {3.75, 5.9259259259259265, 0, 0})
  end)

  it("x:mul_(x) uses the old value of x", function()
    local x = X()
    local y = x * 1
    y:mul_(y)
    y:sum():backward()
    assert_close(x.grad, {2, 4, 6, 8})
  end)

  it("through a view: narrow(...):mul_ (CopySlices)", function()
    local x = X()
    local y = x * 2
    y:narrow(1, 2, 2):mul_(3)
    assert.are.equal("<CopySlices>", tostring(y.grad_fn))
    ;(y * y):sum():backward()
    assert_close(y, {2, 12, 18, 8})
    assert_close(x.grad, {8, 144, 216, 32})
  end)

  it("t[i] = v with v depending on the base's own leaf", function()
    local x = X()
    local y = x * 1
    y[2] = x[1] * x[4]
    ;(y * W):sum():backward()
    assert_close(y, {1, 4, 3, 4})
    assert_close(x.grad, {9, 0, 3, 6})
  end)

  it("t[i] = v where v was computed from another element of t", function()
    local x = X()
    local y = x * 1
    y[1] = y[2] * 2
    ;(y * W):sum():backward()
    assert_close(y, {4, 2, 3, 4})
    assert_close(x.grad, {0, 4, 3, 4})
  end)

  it("t[i] = v into a tensor that did not require grad", function()
    local x = X()
    local buf = tg.zeros(4, {dtype = tg.float64})
    buf[3] = x[1] * 3
    buf[1] = x[4]
    assert.are.equal("<CopySlices>", tostring(buf.grad_fn))
    assert.is_true(buf.requires_grad)
    ;(buf * W):sum():backward()
    assert_close(buf, {4, 0, 3, 0})
    assert_close(x.grad, {9, 0, 0, 1})
  end)

  it("a view of a view, and rows of a matrix added to each other", function()
    local x = X()
    local y = (x * 1):view(2, 2)
    y[2]:add_(y[1])
    ;(y ^ 2):sum():backward()
    assert_close(y, {{1, 2}, {4, 6}})
    assert_close(x.grad, {10, 16, 8, 12})
  end)

  it("a transposed view", function()
    local x = X()
    local y = (x * 1):view(2, 2)
    y:t()[1]:mul_(5)
    ;(y ^ 2):sum():backward()
    assert_close(y, {{5, 2}, {15, 4}})
    assert_close(x.grad, {50, 4, 150, 8})
    local x2 = tg.tensor({{1, 2}, {3, 4}}, {dtype = tg.float64, requires_grad = true})
    local y2 = x2 * 1
    y2:t():add_(tg.tensor({10, 20}, {dtype = tg.float64}))
    y2:select(2, 2):mul_(3)
    ;(y2 ^ 2):sum():backward()
    assert_close(y2, {{11, 36}, {23, 72}})
    assert_close(x2.grad, {{22, 216}, {46, 432}})
  end)

  it("zero_, fill_ and copy_ through views", function()
    local x = X()
    local y = x * 2
    y:narrow(1, 1, 2):zero_()
    ;(y * y):sum():backward()
    assert_close(x.grad, {0, 0, 24, 32})
    local x2 = X()
    local y2 = x2 * 1
    y2:narrow(1, 2, 2):copy_(x2:narrow(1, 1, 2) * 10)
    ;(y2 ^ 2):sum():backward()
    assert_close(y2, {1, 10, 20, 4})
    assert_close(x2.grad, {202, 400, 0, 8})
    local x3 = X()
    local y3 = x3 * 1
    y3:fill_(2)
    assert.are.equal("<FillBackward0>", tostring(y3.grad_fn))
    y3:sum():backward()
    assert_close(x3.grad, {0, 0, 0, 0})
  end)

  it("relu_ on a view, then an out-of-place op", function()
    local x = tg.tensor({-1, 2, -3, 4}, {dtype = tg.float64, requires_grad = true})
    local y = x * 1
    y:narrow(1, 2, 2):relu_()
    y:sigmoid():sum():backward()
    assert_close(y, {-1, 2, 0, 4})
    assert_close(x.grad, {0.19661193324148185, 0.10499358540350662, 0, 0.017662706213291107})
  end)

  it("other views of the base see the new history (regenerated as AsStridedBackward0)", function()
    local x = X()
    local y = x * 1
    local v = y:narrow(1, 1, 2)
    y:mul_(3)
    assert.are.equal("<AsStridedBackward0>", tostring(v.grad_fn))
    ;(v * v):sum():backward()
    assert_close(v, {3, 6})
    assert_close(x.grad, {18, 36, 0, 0})
    local x2 = X()
    local y2 = x2 * 1
    local a, b = y2:narrow(1, 1, 2), y2:narrow(1, 2, 2)
    a:mul_(2)
    ;(b ^ 2):sum():backward()
    assert_close(b, {4, 3})
    assert_close(x2.grad, {0, 16, 6, 0})
  end)

  it("through the pieces of split, chunk and unbind (each a view of the base)", function()
    -- PyTorch refuses in-place writes to multi-output views; tgrad rebases
    -- them like any other view, so the closed forms are the check here
    local a = tg.tensor({{1, 2}, {3, 4}, {5, 6}, {7, 8}}, {dtype = tg.float64, requires_grad = true})
    local b = a * 2
    local p1, p2 = table.unpack(b:split(2))
    p1:mul_(3)
    ;(b:sum() + (p2 * p2):sum()):backward()
    assert_close(b, {6, 12, 18, 24, 10, 12, 14, 16})
    assert_close(a.grad, {6, 6, 6, 6, 2 + 8 * 5, 2 + 8 * 6, 2 + 8 * 7, 2 + 8 * 8})
    a.grad = nil
    local r = (a * 1):unbind(2)
    r[1]:add_(r[2])
    r[1]:sum():backward()
    assert_close(a.grad, {1, 1, 1, 1, 1, 1, 1, 1})
    local function f(x)
      local y = x * 1
      local c = y:chunk(2)
      c[1]:mul_(c[2])
      y:unbind(1)[4]:exp_()
      return y
    end
    local x = tg.tensor({{0.3, -0.2}, {0.7, 1.1}, {0.4, 0.9}, {-0.6, 0.5}}, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(f, {x}))
    assert.is_true(tg.autograd.gradgradcheck(f, {x}))
  end)

  it("t[i] = v accepts extra leading size-1 dims in v, as PyTorch's setitem", function()
    local y = tg.zeros(2, 3)
    y[1] = tg.ones(1, 1, 3)
    y[{2, 2}] = tg.tensor({5})
    y[tg.tensor({2}, {dtype = tg.int64})] = y[2] + tg.full({1, 1, 3}, 1)
    assert_close(y, {1, 1, 1, 1, 6, 1})
    helpers.errors("doesn't match the broadcast shape", function() y[{1, 1}] = tg.ones(2) end)
  end)

  it("a view of a tensor that did not require grad starts requiring it", function()
    local w = tg.tensor({2}, {dtype = tg.float64, requires_grad = true})
    local buf = tg.zeros(3, {dtype = tg.float64})
    local v = buf:narrow(1, 1, 2)
    assert.is_false(v.requires_grad)
    buf[3] = (w * 5):squeeze()
    buf:narrow(1, 1, 1):copy_(w)
    assert.is_true(v.requires_grad)
    ;(v:sum() + buf[3] * 2):backward()
    assert_close(w.grad, {11})
  end)

  it("second derivatives through in-place ops (sin_ then mul_)", function()
    local x = tg.tensor({0.5, 1.5}, {dtype = tg.float64, requires_grad = true})
    local y = x * 1
    y:sin_()
    y:mul_(x)
    local g = tg.autograd.grad(y:sum(), x, {create_graph = true})[1]
    local h = tg.autograd.grad(g:sum(), x)[1]
    assert_close(g, {0.9182168195493894, 1.1036007891056088})
    assert_close(h, {1.515452354478644, -1.354768076570676})
    local x2 = X()
    local y2 = x2 * 1
    y2:narrow(1, 2, 2):mul_(2)
    local g2 = tg.autograd.grad((y2 ^ 3):sum(), x2, {create_graph = true})[1]
    assert_close(g2, {3, 96, 216, 48})
    assert_close(tg.autograd.grad(g2:sum(), x2)[1], {6, 96, 144, 24})
  end)

  it("passes gradcheck through in-place ops and views", function()
    local function f(x)
      local y = x * 1
      y:narrow(1, 1, 2):mul_(x:narrow(1, 3, 2))
      y:tanh_()
      y[4] = x[1] * x[2]
      return y
    end
    local x = tg.tensor({0.3, -0.2, 0.7, 1.1}, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(f, {x}))
    assert.is_true(tg.autograd.gradgradcheck(f, {x}))
  end)

  it("under no_grad an in-place op keeps the history but bumps the version", function()
    local x = X()
    local y = x * 2
    local fn = y.grad_fn
    tg.no_grad(function() y:add_(1) end)
    assert.are.equal(fn, y.grad_fn)
    assert.are.equal(1, y:_version())
  end)
end)

describe("copy_ between overlapping views of one storage", function()
  it("copies as if through a temporary (no cascade)", function()
    local a = tg.arange(4)
    a:narrow(1, 2, 3):copy_(a:narrow(1, 1, 3))
    assert.are.same({0, 0, 1, 2}, a:tolist())
    local m = tg.arange(1, 10):float():view(3, 3)
    m:copy_(m:t())
    assert_close(m, {1, 4, 7, 2, 5, 8, 3, 6, 9})
    local y = tg.arange(6)
    y[{{2, 6}}] = y[{{1, 5}}]
    assert.are.same({0, 0, 1, 2, 3, 4}, y:tolist())
  end)
end)

describe("int64 fills past 2^53", function()
  it("keep every digit (fill_ and t[i] = v)", function()
    local t = tg.zeros(3, {dtype = tg.int64})
    t[1] = 9007199254740993
    t[{{2, 3}}] = -9007199254740995
    assert.are.same({9007199254740993, -9007199254740995, -9007199254740995}, t:tolist())
    t:fill_(4611686018427387905)
    assert.are.equal(4611686018427387905, t:tolist()[2])
  end)
end)
