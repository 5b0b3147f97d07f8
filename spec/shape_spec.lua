-- shape_spec.lua: views, copies, indexing and linear algebra against PyTorch
-- fixtures (spec/fixtures/shape.lua, written by tools/gen_shape_fixtures.py):
-- values, gradients, grad_fn names, float64 gradcheck; then view semantics
-- (shared storage), the list results of split/chunk/unbind, and error cases.
local tg = require "tgrad"
local fx = require "support.fixtures"

describe("shape/index/linalg fixtures vs PyTorch", function()
  fx.add_cases(it, fx.load("shape"), {check_grad_fn = true})
end)

---------------------------------------------------------------- views
local function range(...) return tg.arange(0.0, ...) end

describe("views share storage", function()
  it("flatten, unflatten, split, chunk, unbind write through to the base", function()
    local x = range(12.0):reshape(3, 4)
    local f = x:flatten()
    f[1] = 100
    assert.are.equal(100, x[{1, 1}]:item())
    local u = x:unflatten(2, {2, 2})
    u[{3, 2, 2}] = -1
    assert.are.equal(-1, x[{3, 4}]:item())
    local parts = x:split(2, 2)
    parts[2][{1, 1}] = 55
    assert.are.equal(55, x[{1, 3}]:item())
    local ch = x:chunk(3, 1)
    ch[3]:fill_(7)
    assert.are.same({7, 7, 7, 7}, x[3]:tolist())
    local rows = x:unbind(1)
    rows[2][4] = 9
    assert.are.equal(9, x[{2, 4}]:item())
  end)

  it("flatten over one dim returns the tensor itself; flatten of a 0-d tensor is 1-D", function()
    local x = tg.ones(2, 3)
    assert.are.equal(x, x:flatten(2, 2))
    assert.are.same({1}, tg.tensor(3.0):flatten().shape)
    assert.are.same({2, 3}, tg.ones(2, 3):flatten(2).shape)
  end)

  it("indexing with numbers and ranges gives views; copies for tensor keys", function()
    local x = range(6.0):reshape(2, 3)
    x[{2, {2, 3}}]:fill_(0)
    assert.are.same({{0, 1, 2}, {3, 0, 0}}, x:tolist())
    local sel = x[tg.tensor({1}, {dtype = tg.int64})]
    sel:fill_(-1)
    assert.are.same({0, 1, 2}, x[1]:tolist())
  end)

  it("split/chunk/unbind return Lua lists and one multi-output node", function()
    local x = tg.randn(4, 3, {dtype = tg.float64, requires_grad = true})
    local p = x:split({1, 3})
    assert.are.equal(2, #p)
    assert.are.equal("SplitWithSizesBackward0", p[1].grad_fn.name)
    assert.are.equal(p[1].grad_fn, p[2].grad_fn)
    assert.are.equal(1, p[2].output_nr)
    local c = tg.chunk(x, 2, 2)
    assert.are.same({4, 2}, c[1].shape)
    assert.are.same({4, 1}, c[2].shape)
    assert.are.equal("SplitBackward0", c[1].grad_fn.name)
    local u = x:unbind(2)
    assert.are.equal(3, #u)
    assert.are.equal("UnbindBackward0", u[3].grad_fn.name)
    -- only one piece used: the others get zeros
    u[3]:sum():backward()
    assert.are.same({{0, 0, 1}, {0, 0, 1}, {0, 0, 1}, {0, 0, 1}}, x.grad:tolist())
  end)

  it("chunk of an empty dim gives `chunks` empty pieces; more chunks than rows gives fewer", function()
    assert.are.equal(3, #tg.zeros(0):chunk(3))
    assert.are.equal(3, #tg.zeros(6):chunk(4))
    assert.are.equal(3, #tg.zeros(5):chunk(3))
  end)

  it("gradcheck: chunk/split/unbind used together, and double backward through cat", function()
    local x = tg.randn(4, 3, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(a)
      local p = a:chunk(2, 1)
      local u = a:unbind(2)
      return p[1] * p[2] + u[1][{{1, 2}}]:unsqueeze(2)
    end, {x}))
    local y = tg.randn(2, 2, {dtype = tg.float64, requires_grad = true})
    local out = (tg.cat({y, y * y}, 1) ^ 2):sum()
    local g = tg.autograd.grad(out, y, nil, {create_graph = true})[1]
    assert.is_true(g.requires_grad)
    local h = tg.autograd.grad(g:sum(), y)[1]
    -- d/dy sum(2y + 4y^3) = 2 + 12 y^2
    local want = (y:detach() ^ 2) * 12 + 2
    assert.is_true((h - want):abs():max():item() < 1e-10)
  end)
end)

---------------------------------------------------------------- copies: names and errors
describe("copies", function()
  local x = tg.randn(2, 3, {requires_grad = true})
  it("have PyTorch's grad_fn names", function()
    local y = x * 1
    assert.are.equal("CatBackward0", tg.cat({y, y}).grad_fn.name)
    assert.are.equal("StackBackward0", tg.stack({y, y}).grad_fn.name)
    assert.are.equal("RepeatBackward0", y:repeatTensor(2, 1).grad_fn.name)
    assert.are.equal("RepeatBackward0", y:tile(2).grad_fn.name)
    assert.are.equal("FlipBackward0", y:flip(1).grad_fn.name)
    assert.are.equal("RollBackward0", y:roll(1).grad_fn.name)
    assert.are.equal("RollBackward0", y:roll(1, 2).grad_fn.name)
    assert.are.equal("TrilBackward0", y:tril().grad_fn.name)
    assert.are.equal("TriuBackward0", y:triu().grad_fn.name)
    assert.are.equal("ViewBackward0", y:unflatten(2, {3, 1}).grad_fn.name)
    assert.are.equal("UnsafeViewBackward0", y:t():flatten().grad_fn.name)
  end)

  it("`repeat` is a Lua keyword: t['repeat'](t, ...), tg['repeat'] and repeatTensor all work", function()
    local a = tg.tensor({1, 2})
    assert.are.same({1, 2, 1, 2}, a["repeat"](a, 2):tolist())
    assert.are.same({1, 2, 1, 2}, tg["repeat"](a, 2):tolist())
    assert.are.same({{1, 2}, {1, 2}}, a:repeatTensor(2, 1):tolist())
  end)

  it("raise PyTorch's messages (1-based dims and tensor numbers)", function()
    assert.has_error(function() tg.cat({tg.zeros(2, 3), tg.zeros(2, 4)}, 1) end,
      "Sizes of tensors must match except in dimension 1. Expected size 3 but got size 4 for tensor number 2 in the list.")
    assert.has_error(function() tg.cat({tg.zeros(3, 2), tg.zeros(3, 2), tg.zeros(4, 3)}, 2) end,
      "Sizes of tensors must match except in dimension 2. Expected size 3 but got size 4 for tensor number 3 in the list.")
    assert.has_error(function() tg.cat({tg.zeros(2, 3), tg.zeros(3)}) end,
      "Tensors must have same number of dimensions: got 2 and 1")
    assert.has_error(function() tg.cat({}) end, "torch.cat(): expected a non-empty list of Tensors")
    assert.has_error(function() tg.cat({tg.tensor(1.0)}) end, "zero-dimensional tensor (at position 1) cannot be concatenated")
    assert.has_error(function() tg.cat({tg.zeros(2)}, 3) end)
    assert.has_error(function() tg.stack({tg.zeros(2, 3), tg.zeros(2, 4)}) end,
      "stack expects each tensor to be equal size, but got [2, 3] at entry 1 and [2, 4] at entry 2")
    assert.has_error(function() tg.cat(tg.zeros(2)) end)
    assert.has_error(function() tg.zeros(3):split({1, 1}) end,
      "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension 1), but got split_sizes=[1, 1]")
    assert.has_error(function() tg.zeros(3):split(0) end,
      "split_size can only be 0 if dimension size is 0, but got dimension size of 3")
    assert.has_error(function() tg.zeros(3):chunk(0) end, "chunk expects `chunks` to be greater than 0, got: 0")
    assert.has_error(function() tg.zeros(3):unflatten(1, {2, 2}) end,
      "unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input tensor")
    assert.has_error(function() tg.zeros(2, 3):flatten(2, 1) end,
      "flatten() has invalid args: start_dim cannot come after end_dim")
    assert.has_error(function() tg.zeros(2, 3):repeatTensor(2) end,
      "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    assert.has_error(function() tg.zeros(3):flip(1, 1) end, "dim 1 appears multiple times in the list of dims")
    assert.has_error(function() tg.zeros(3):flip(2) end)
    assert.has_error(function() tg.zeros(3):tril() end, "tril: input tensor must have at least 2 dimensions")
    assert.has_error(function() tg.zeros(3):triu() end, "triu: input tensor must have at least 2 dimensions")
    assert.has_error(function() tg.zeros(2, 3):roll({1, 1}, {1}) end, "shifts and dimensions must align. shifts: 2, dims:1")
    assert.has_error(function() tg.zeros(2, 3):unbind(3) end)
  end)

  it("tile pads the repeats with leading ones; repeat adds leading dims", function()
    assert.are.same({2, 6}, tg.zeros(2, 3):tile(2).shape)
    assert.are.same({2, 2, 6}, tg.zeros(2, 3):repeatTensor(2, 1, 2).shape)
    assert.are.same({0, 3}, tg.zeros(2, 3):repeatTensor(0, 1).shape)
  end)

  it("roll without dims rolls the flattened tensor and keeps the shape", function()
    assert.are.same({{5, 0, 1}, {2, 3, 4}}, tg.arange(0, 6):reshape(2, 3):roll(1):tolist())
  end)
end)
