-- index_spec.lua: indexing (t[i], t[{...}], t[idx], t[mask], assignment) and the
-- index copies (index_select, gather, scatter, scatter_add, index_add,
-- masked_fill, masked_select, where): semantics, 1-based index tensors,
-- errors with PyTorch's wording, gradcheck and second-order gradcheck.
local tg = require "tgrad"

local function long(t) return tg.tensor(t, {dtype = tg.int64}) end
local function bool(t) return tg.tensor(t, {dtype = tg.bool}) end
local function randn(...) return tg.randn({...}, {dtype = tg.float64, requires_grad = true}) end
local function gradcheck(fn, ins) return tg.autograd.gradcheck(fn, ins) end

-- second order: gradcheck of x -> d/dx sum(fn(x) * w), built with create_graph
local function gradgradcheck(fn, ins)
  local w
  return tg.autograd.gradcheck(function(...)
    return tg.enable_grad(function(...)
    local out = fn(...)
    w = w or tg.randn(out.shape, {dtype = tg.float64})
    local list = {}
    for _, x in ipairs({...}) do if tg.is_tensor(x) and x.requires_grad then list[#list + 1] = x end end
    local gs = tg.autograd.grad((out * w):sum(), list, nil, {create_graph = true, allow_unused = true})
    local res = {}
    for i = 1, #list do if gs[i] then res[#res + 1] = gs[i]:reshape(-1) end end
    return tg.cat(res) -- one output: gradcheck rebuilds the graph per input, not per output
    end, ...)
  end, ins)
end

describe("indexing with Lua keys", function()
  local x = tg.arange(0.0, 12.0):reshape(3, 4)

  it("numbers select, ranges narrow (inclusive, negative from the end)", function()
    assert.are.same({4, 5, 6, 7}, x[2]:tolist())
    assert.are.same({8, 9, 10, 11}, x[-1]:tolist())
    assert.are.equal(6, x[{2, 3}]:item())
    assert.are.same({{1, 2}, {5, 6}}, x[{{1, 2}, {2, 3}}]:tolist())
    assert.are.same({3, 7, 11}, x[{{}, -1}]:tolist())
    assert.are.same({{8, 9, 10, 11}}, x[{{-1}}]:tolist())
    assert.are.same({{5, 6, 7}, {9, 10, 11}}, x[{{2, -1}, {2, -1}}]:tolist())
    assert.are.same({3, 0}, x[{{}, {3, 2}}].shape) -- an empty range
  end)

  it("int64 tensors pick rows (copies, 1-based, negatives from the end)", function()
    assert.are.same({{8, 9, 10, 11}, {0, 1, 2, 3}}, x[long({3, 1})]:tolist())
    assert.are.same({{8, 9, 10, 11}, {4, 5, 6, 7}}, x[long({-1, 2})]:tolist())
    assert.are.same({2, 2, 4}, x[long({{1, 2}, {3, 3}})].shape)
    assert.are.same({4, 5, 6, 7}, x[long(2)]:tolist())
  end)

  it("bool masks: full shape gives a 1-D selection, leading dims keep the rest", function()
    assert.are.same({9, 10, 11}, x[x:gt(8)]:tolist())
    assert.are.same({{0, 1, 2, 3}, {8, 9, 10, 11}}, x[bool({true, false, true})]:tolist())
    assert.are.same({0, 4}, x[bool({false, false, false})].shape)
  end)

  it("assignment writes in place: numbers, tensors (broadcast), masks, index tensors", function()
    local y = tg.zeros(3, 4)
    local base_version = y:_version()
    y[1] = 1
    y[{2, {2, 3}}] = tg.tensor({5.0, 6.0})
    y[{{}, 4}] = tg.tensor({7.0, 8.0, 9.0})
    assert.are.same({{1, 1, 1, 7}, {0, 5, 6, 8}, {0, 0, 0, 9}}, y:tolist())
    assert.is_true(y:_version() > base_version)
    y[y:gt(6)] = -1
    assert.are.same({{1, 1, 1, -1}, {0, 5, 6, -1}, {0, 0, 0, -1}}, y:tolist())
    y[long({3, 1})] = tg.tensor({2.0, 3.0, 4.0, 5.0})
    assert.are.same({{2, 3, 4, 5}, {0, 5, 6, -1}, {2, 3, 4, 5}}, y:tolist())
    y[bool({false, true, false})] = 0
    assert.are.same({0, 0, 0, 0}, y[2]:tolist())
    local z = tg.zeros(2, 2)
    z[z:eq(0)] = tg.tensor({1.0, 2.0, 3.0, 4.0})
    assert.are.same({{1, 2}, {3, 4}}, z:tolist())
  end)

  it("assignment keeps the leaf check (allowed under no_grad)", function()
    local w = tg.zeros(2, 2, {requires_grad = true})
    assert.has_error(function() w[1] = 1 end, "a view of a leaf Variable that requires grad is being used in an in-place operation.")
    assert.has_error(function() w[w:eq(0)] = 1 end, "a leaf Variable that requires grad is being used in an in-place operation.")
    tg.no_grad(function() w[1] = 3 end)
    assert.are.same({3, 3}, w[1]:tolist())
  end)

  it("bad keys raise clean errors", function()
    assert.has_error(function() return x[4] end, "index 4 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() return x[0] end, "index 0 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() return x[{1, 5}] end, "index 5 is out of bounds for dimension 2 with size 4")
    assert.has_error(function() return x[1.5] end, "index must be an integer, got 1.5")
    assert.has_error(function() return x[{1, 2, 3}] end, "too many indices for tensor of dimension 2")
    assert.has_error(function() return x[{{1, 5}}] end, "index range {1, 5} is out of bounds for dimension 1 with size 3")
    assert.has_error(function() return x[long({4})] end, "index 4 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() return x[tg.tensor({1.0})] end, "tensors used as indices must be int64 (long) or bool tensors, got float32")
    assert.has_error(function() return x[bool({true, false})] end,
      "The shape of the mask [2] at index 1 does not match the shape of the indexed tensor [3, 4] at index 1")
    assert.has_error(function() return x["nope"]() end)
  end)

  it("gradients flow through keys (gradcheck)", function()
    local a = randn(4, 3)
    assert.is_true(gradcheck(function(t) return t[{{2, 3}, -1}] end, {a}))
    assert.is_true(gradcheck(function(t) return t[long({4, 1, 4})] end, {a}))
    assert.is_true(gradcheck(function(t) return t[long({{1, 2}, {2, 2}})] end, {a}))
    assert.is_true(gradcheck(function(t) return t[bool({true, false, false, true})] end, {a}))
    assert.is_true(gradcheck(function(t) return t[t:detach():gt(0)] end, {a}))
  end)
end)

describe("index copies", function()
  it("index_select / gather / scatter / scatter_add / index_add take 1-based int64 indices", function()
    local x = tg.tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}})
    assert.are.same({{3, 1}, {6, 4}}, x:index_select(2, long({3, 1})):tolist())
    assert.are.same({{3, 1}, {6, 4}}, x:index_select(-1, long({-1, 1})):tolist())
    assert.are.same({{1, 1}, {6, 5}}, x:gather(2, long({{1, 1}, {3, 2}})):tolist())
    assert.are.same({{0, 2, 0}, {1, 0, 3}}, tg.zeros(2, 3):scatter(1, long({{2, 1, 2}}), x):tolist())
    assert.are.same({{7, 1, 1}, {1, 1, 1}}, tg.ones(2, 3):scatter_add(2, long({{1, 1, 1}}), x[{{1}}]):tolist())
    assert.are.same({{1, 2, 3}, {9, 12, 15}}, x:index_add(1, long({2, 2}), tg.tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}})):tolist())
    assert.are.same({{-1, 2, 3}, {-4, 5, 6}}, x:index_add(2, long({1}), x[{{}, {1}}], {alpha = -2}):tolist())
    assert.are.same({{9, 2, 9}, {4, 5, 6}}, x:scatter(2, long({{1, 3}}), 9):tolist())
  end)

  it("masked_fill / masked_select / where", function()
    local x = tg.tensor({{1.0, -2.0}, {-3.0, 4.0}})
    local m = x:lt(0)
    assert.are.same({{1, 0}, {0, 4}}, x:masked_fill(m, 0):tolist())
    assert.are.same({{1, 9}, {9, 4}}, tg.masked_fill(x, m, tg.tensor(9.0)):tolist())
    assert.are.same({-2, -3}, x:masked_select(m):tolist())
    assert.are.same({{1, 0}, {0, 4}}, tg.where(m, 0.0, x):tolist())
    assert.are.same({{1, 0}, {0, 4}}, x:where(x:gt(0), 0.0):tolist())
    assert.are.equal(tg.float32, tg.where(m, 1.0, 2.0).dtype)
    assert.are.equal(tg.int64, tg.where(m, 1, 2).dtype)
    assert.are.equal(tg.float64, tg.where(m, x, x:double()).dtype)
  end)

  it("have PyTorch's grad_fn names", function()
    local x = randn(3, 4)
    local i = long({1, 3})
    assert.are.equal("IndexSelectBackward0", x:index_select(1, i).grad_fn.name)
    assert.are.equal("GatherBackward0", x:gather(2, long({{1}, {2}, {4}})).grad_fn.name)
    assert.are.equal("ScatterBackward0", x:scatter(2, long({{1}}), x).grad_fn.name)
    assert.are.equal("ScatterBackward1", x:scatter(2, long({{1}}), 0).grad_fn.name)
    assert.are.equal("ScatterAddBackward0", x:scatter_add(2, long({{1}}), x).grad_fn.name)
    assert.are.equal("IndexAddBackward0", x:index_add(1, i, x[{{1, 2}}]).grad_fn.name)
    assert.are.equal("MaskedFillBackward0", x:masked_fill(x:gt(0), 0).grad_fn.name)
    assert.are.equal("MaskedFillBackward1", x:masked_fill(x:gt(0), tg.tensor(0.0, {dtype = tg.float64})).grad_fn.name)
    assert.are.equal("MaskedSelectBackward0", x:masked_select(x:gt(0)).grad_fn.name)
    assert.are.equal("WhereBackward0", tg.where(x:gt(0), x, 0).grad_fn.name)
  end)

  it("gradcheck and second-order gradcheck", function()
    local x, s = randn(3, 4), randn(3, 4)
    local idx = long({{2, 1, 4}, {3, 3, 1}, {1, 2, 2}})
    local cols = long({4, 2, 4})
    local m = bool({{true, false, true, false}, {false, false, true, true}, {true, true, false, false}})
    local fns = {
      function(a) return a:index_select(2, cols) end,
      function(a) return a:gather(2, idx) end,
      function(a, b) return a:scatter(2, long({{2}, {1}, {4}}), b) end,
      function(a, b) return a:scatter_add(2, idx, b) end,
      function(a, b) return a:index_add(2, cols, b[{{}, {1, 3}}], {alpha = 1.5}) end,
      function(a) return a:masked_fill(m, 0.5) end,
      function(a, b) return a:masked_fill(m, b[{1, 1}]) end,
      function(a) return a:masked_select(m) end,
      function(a, b) return tg.where(m, a, b) end,
      function(a, b) return tg.where(m, a * b, 2.0) end,
    }
    for k, fn in ipairs(fns) do
      assert.is_true(gradcheck(fn, {x, s}), "case " .. k)
      assert.is_true(gradgradcheck(function(a, b) return fn(a, b) * fn(a, b) end, {x, s}), "case " .. k .. " (second order)")
    end
  end)

  it("scatter / scatter_add with an index smaller than src: src gradient zero-padded", function()
    local x, s = randn(3, 3), randn(3, 4)
    local idx = long({{3, 1}, {1, 2}})
    assert.is_true(gradcheck(function(a, b) return a:scatter_add(1, idx, b) end, {x, s}))
    assert.is_true(gradcheck(function(a, b) return a:scatter(2, long({{2, 3}}), b) end, {x, s}))
  end)

  it("masked_select and where broadcast; the gradient is summed back to each input's shape", function()
    local a = randn(3)
    local m = bool({{true, false, true}, {true, true, false}})
    assert.is_true(gradcheck(function(t) return t:masked_select(m) end, {a}))
    local b = randn(2, 1)
    assert.is_true(gradcheck(function(t, u) return tg.where(m, t, u) end, {a, b}))
  end)

  it("accept non-contiguous and expanded inputs and indices", function()
    local x = tg.arange(0.0, 12.0):reshape(4, 3)
    assert.are.same({{0, 9}, {1, 10}, {2, 11}}, x:t():index_select(2, long({1, 4})):tolist())
    assert.are.same({{3, 0}, {4, 1}, {5, 2}}, x:t():gather(2, long({{2, 1}}):expand(3, 2)):tolist())
    local i = long({{1, 2}, {2, 1}}):t() -- non-contiguous
    assert.are.same({{0, 4}, {3, 1}}, x[{{1, 2}}]:gather(1, i):tolist())
  end)

  it("raise PyTorch's messages for wrong dtypes, shapes and out-of-range indices", function()
    local x = tg.zeros(3, 4)
    assert.has_error(function() x:index_select(1, tg.tensor({1.0})) end, "index_select(): Expected dtype int64 for index")
    assert.has_error(function() x:gather(1, tg.ones(3, 4)) end, "gather(): Expected dtype int64 for index")
    assert.has_error(function() x:scatter(1, tg.ones(1, 1), 0) end, "scatter(): Expected dtype int64 for index")
    assert.has_error(function() x:scatter_add(1, tg.ones(1, 1), x) end, "scatter_add(): Expected dtype int64 for index")
    assert.has_error(function() x:index_add(1, tg.ones(1), x) end, "index_add(): Expected dtype int64 for index")
    assert.has_error(function() tg.zeros(3):gather(1, long({5})) end, "index 5 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() tg.zeros(3):gather(1, long({0})) end, "index 0 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() x:index_select(2, long({1, 5})) end, "index 5 is out of bounds for dimension 2 with size 4")
    assert.has_error(function() x:index_select(1, long({-4})) end, "index -4 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() x:scatter(2, long({{5}}), 1) end, "index 5 is out of bounds for dimension 2 with size 4")
    assert.has_error(function() x:index_add(1, long({4}), tg.zeros(1, 4)) end, "index 4 is out of bounds for dimension 1 with size 3")
    assert.has_error(function() x:index_select(1, long({{1}})) end, "index_select(): Index is supposed to be a vector")
    assert.has_error(function() x:gather(1, long({1})) end, "Index tensor must have the same number of dimensions as input tensor")
    assert.has_error(function() x:gather(2, long({{1, 1}, {1, 1}, {1, 1}, {1, 1}})) end)
    assert.has_error(function() x:scatter(1, long({{1}}), x:double()) end, "scatter(): Expected self.dtype to be equal to src.dtype")
    assert.has_error(function() x:index_add(1, long({1, 2}), tg.zeros(3, 4)) end,
      "index_add_(): Number of indices (2) should be equal to source.size(dim): (3), for dim: 1")
    assert.has_error(function() x:masked_fill(tg.ones(3, 4), 0) end, "masked_fill_ only supports boolean masks, but got mask with dtype float")
    assert.has_error(function() x:masked_fill(x:gt(0), tg.zeros(2)) end,
      "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s).")
    assert.has_error(function() x:masked_select(tg.ones(3, 4)) end, "masked_select: expected BoolTensor for mask")
    assert.has_error(function() tg.where(tg.ones(3, 4), x, x) end,
      "where expected condition to be a boolean tensor, but got a tensor with dtype Float")
    assert.has_error(function() tg.where(x:gt(0), x, tg.zeros(2)) end)
    assert.has_error(function() x:index_select(3, long({1})) end)
  end)
end)
