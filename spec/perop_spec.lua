-- perop_spec.lua: what the per-op floor work (issue 11) changed in behaviour.
--  * .grad returns the same box while the gradient is the same tensor (PyTorch
--    returns the same Python object: test_autograd's `x.grad is x.grad`), a
--    box assigned to .grad is then .grad itself, and a cached box never keeps
--    a dropped gradient alive;
--  * .data returns a cached alias while it still is a plain alias of the
--    tensor as it is now; `t.data = other` swaps what it shows;
--  * the binary fast paths (operands of the result's shape used as they are,
--    0-d operands of another dtype cast into a stack scalar, one-row loops)
--    give the general path's values, dtypes and errors;
--  * sum_to over size-1 dims without a graph (a bias's gradient at batch 1).
local tg = require "tgrad"

local function vals(t) return t:tolist() end

describe("perop: .grad box", function()
  it("is the same box on every access while the gradient is the same tensor", function()
    local w = tg.randn(3, 2, {requires_grad = true})
    assert.is_nil(w.grad)
    ;(w * 2):sum():backward()
    local g = w.grad
    assert.is_true(rawequal(g, w.grad))
    assert.same({{2, 2}, {2, 2}, {2, 2}}, vals(w.grad))
    -- accumulation is in place: the same box shows the new values
    ;(w * 3):sum():backward()
    assert.is_true(rawequal(g, w.grad))
    assert.same({{5, 5}, {5, 5}, {5, 5}}, vals(g))
  end)

  it("is the assigned box after t.grad = g, and nil after t.grad = nil", function()
    local w = tg.zeros(2, {requires_grad = true})
    local g = tg.tensor({1, 2}, {dtype = tg.float32})
    w.grad = g
    assert.is_true(rawequal(w.grad, g))
    w.grad = nil
    assert.is_nil(w.grad)
    -- a gradient made after that comes in a new box with its own values
    ;(w * 4):sum():backward()
    assert.is_false(rawequal(w.grad, g))
    assert.same({4, 4}, vals(w.grad))
    assert.same({1, 2}, vals(g))
  end)

  it("follows optimizer zero_grad (set_to_none and zeroing)", function()
    local w = tg.ones(2, {requires_grad = true})
    local opt = tg.optim.SGD({w}, {lr = 0.1})
    w:sum():backward()
    local g = w.grad
    opt:zero_grad(false) -- zeroed in place: the same tensor, the same box
    assert.is_true(rawequal(g, w.grad))
    assert.same({0, 0}, vals(w.grad))
    opt:zero_grad() -- set_to_none (PyTorch's default)
    assert.is_nil(w.grad)
    assert.same({0, 0}, vals(g)) -- the box taken before still works
  end)

  it("does not keep a dropped gradient's memory alive", function()
    local w = tg.zeros(1000, 100, {requires_grad = true})
    w:sum():backward()
    local _ = w.grad -- cached in w's box
    _ = nil
    collectgarbage(); collectgarbage()
    local before = tg.memory_allocated()
    w.grad = nil
    collectgarbage(); collectgarbage()
    assert.is_true(before - tg.memory_allocated() >= 1000 * 100 * 4)
    w:sum():backward()
    _ = w.grad
    _ = nil
    local opt = tg.optim.SGD({w}, {lr = 0.1})
    collectgarbage(); collectgarbage()
    before = tg.memory_allocated()
    opt:zero_grad()
    collectgarbage(); collectgarbage()
    assert.is_true(before - tg.memory_allocated() >= 1000 * 100 * 4)
  end)

  it("of a freed box's tensor: t:free() lets the cached boxes go", function()
    local w = tg.ones(3, {requires_grad = true})
    w:sum():backward()
    local g = w.grad
    w:free()
    assert.has_error(function() return w.grad end)
    assert.same({1, 1, 1}, vals(g))
  end)

  it("warns for a non-leaf as before and returns nil", function()
    local w = tg.ones(2, {requires_grad = true})
    local y = w * 2
    assert.is_nil(y.grad)
    y:retain_grad()
    y:sum():backward()
    assert.is_true(rawequal(y.grad, y.grad))
    assert.same({1, 1}, vals(y.grad))
  end)
end)

describe("perop: .data box", function()
  it("is the same alias while it still is a plain alias of the tensor", function()
    local w = tg.tensor({1, 2, 3}, {dtype = tg.float32, requires_grad = true})
    local d = w.data
    assert.is_true(rawequal(d, w.data))
    assert.is_false(d.requires_grad)
    d:add_(1) -- writes through to w
    assert.same({2, 3, 4}, vals(w))
    assert.same({2, 3, 4}, vals(w.data))
  end)

  it("is a new alias once something was made of the cached one", function()
    local w = tg.tensor({1, 2, 3}, {dtype = tg.float32})
    local d = w.data
    d:requires_grad_()
    local d2 = w.data
    assert.is_false(rawequal(d, d2))
    assert.is_false(d2.requires_grad)
    assert.is_true(rawequal(d2, w.data))
    d2:free()
    local d3 = w.data
    assert.same({1, 2, 3}, vals(d3))
  end)

  it("shows the new memory after t.data = other (same and other shape)", function()
    local w = tg.tensor({1, 2, 3}, {dtype = tg.float32, requires_grad = true})
    local d = w.data
    w.data = tg.tensor({7, 8, 9}, {dtype = tg.float32})
    assert.same({7, 8, 9}, vals(w.data))
    assert.same({1, 2, 3}, vals(d)) -- the old alias keeps the old memory
    w.data = tg.tensor({{1, 2}, {3, 4}}, {dtype = tg.float32})
    assert.same({2, 2}, w.data.shape)
    assert.same({{1, 2}, {3, 4}}, vals(w.data))
    w.data = tg.tensor({5.5}, {dtype = tg.float64})
    assert.equal(tg.float64, w.data.dtype)
  end)

  it("of a view follows the view's own strides", function()
    local x = tg.arange(6):view(2, 3)
    local t = x:t()
    assert.same({3, 2}, t.data.shape)
    assert.same({{0, 3}, {1, 4}, {2, 5}}, vals(t.data))
    assert.same({1, 3}, t.data:stride())
  end)
end)

describe("perop: binary fast paths", function()
  it("same-shape operands give the values of the broadcast path", function()
    local a = tg.randn(4, 5, {dtype = tg.float64})
    local b = tg.randn(4, 5, {dtype = tg.float64})
    local s = a + b
    local e = a:expand(1, 4, 5)[1] + b:expand(1, 4, 5)[1] -- same data through views
    assert.same(vals(e), vals(s))
    for i = 1, 4 do
      for j = 1, 5 do
        assert.equal(a[i][j]:item() + b[i][j]:item(), s[i][j]:item())
      end
    end
  end)

  it("non-contiguous, 0-d and empty operands", function()
    local a = tg.arange(6, {dtype = tg.float32}):view(2, 3)
    local at = a:t() -- (3, 2), strides (1, 3)
    local b = tg.ones(3, 2)
    assert.same({{1, 4}, {2, 5}, {3, 6}}, vals(at + b))
    assert.same({{1, 4}, {2, 5}, {3, 6}}, vals(b + at))
    local z = tg.tensor(2.5) + tg.tensor(1)
    assert.equal(0, z:dim())
    assert.equal(3.5, z:item())
    local e = tg.zeros(0, 3) + tg.zeros(0, 3)
    assert.same({0, 3}, e.shape)
    assert.same({0, 3}, (tg.zeros(0, 3) * 2).shape)
  end)

  it("0-d operands of another dtype cast as the general path casts", function()
    -- wrapped numbers
    local i = tg.tensor({1, 2, 3}, {dtype = tg.int64})
    local r = i * 2.5
    assert.equal(tg.float32, r.dtype)
    assert.same({2.5, 5, 7.5}, vals(r))
    assert.equal(tg.int64, (i + 2).dtype)
    local big = math.tointeger(2 ^ 53) + 1 -- exact in int64, not in float64
    assert.equal(big + 1, (tg.tensor({1}, {dtype = tg.int64}) + big)[1]:item())
    local f64 = tg.tensor({0.1}, {dtype = tg.float64})
    assert.equal(0.1 + 0.1, (f64 + 0.1)[1]:item()) -- 0.1 stays a double for float64
    local f32 = tg.tensor({0.1})
    assert.equal(tg.float32, (f32 * -0.01).dtype)
    assert.same(vals(f32 * tg.tensor(-0.01, {dtype = tg.float32})), vals(f32 * -0.01))
    -- bool tensors with Lua booleans and numbers
    local bt = tg.tensor({true, false})
    assert.same({true, true}, vals(bt + true))
    assert.equal(tg.int64, (bt + 1).dtype)
    assert.same({2, 1}, vals(bt + 1))
    -- 0-d tensors that are not Lua numbers: an int64 0-d past 2^24 into float32
    local n = tg.tensor(16777217, {dtype = tg.int64})
    local got = tg.zeros(1) + n
    assert.equal(tg.float32, got.dtype)
    assert.same(vals(tg.zeros(1) + n:float()), vals(got))
    local d0 = tg.tensor(1.5, {dtype = tg.float64})
    assert.equal(tg.float32, (tg.ones(2) * d0).dtype) -- a dimensioned tensor's category wins
    assert.same({1.5, 1.5}, vals(tg.ones(2) * d0))
    assert.same({-1.5, -1.5}, vals(d0 - tg.ones(2) * 3))
    -- integer division of an int64 tensor by a float64 0-d: true division in float
    assert.same({0.5, 1, 1.5}, vals(i / tg.tensor(2.0, {dtype = tg.float64})))
  end)

  it("errors as the general path (bool subtraction, shapes)", function()
    local bt = tg.tensor({true, false})
    assert.has_error(function() return bt - bt end,
      "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.")
    assert.has_error(function() return tg.ones(2, 3) + tg.ones(3, 2) end,
      "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1")
  end)

  it("gradients through a Lua-number operand (the scalar is not kept by the graph)", function()
    local x = tg.randn(3, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(a) return (a * 2.5 + 1) / 3 end, {x}))
    assert.is_true(tg.autograd.gradgradcheck(function(a) return (a * a) * 0.5 end, {x}))
  end)
end)

describe("perop: sum_to over size-1 dims", function()
  it("a bias's gradient at batch 1, with and without a graph", function()
    local x = tg.randn(1, 3, {dtype = tg.float64})
    local b = tg.randn(3, {dtype = tg.float64, requires_grad = true})
    ;((x + b) * 2):sum():backward()
    assert.same({3}, b.grad.shape)
    assert.same({2, 2, 2}, vals(b.grad))
    assert.is_true(tg.autograd.gradcheck(function(bb) return (x + bb):pow(2) end, {b}))
    assert.is_true(tg.autograd.gradgradcheck(function(bb) return (x + bb):pow(2) end, {b}))
    -- with a graph the gradient of a broadcast stays SumBackward-made
    local bb = tg.randn(3, {dtype = tg.float64, requires_grad = true})
    local gb = tg.autograd.grad((x + bb):pow(2):sum(), {bb}, {create_graph = true})[1]
    assert.same({3}, gb.shape)
    assert.is_not_nil(gb.grad_fn)
  end)
end)
