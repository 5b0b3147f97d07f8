-- shape_spec.lua: views, copies, indexing and linear algebra against PyTorch
-- fixtures (spec/fixtures/shape.lua, written by tools/gen_shape_fixtures.py):
-- values, gradients, grad_fn names, float64 gradcheck; then view semantics
-- (shared storage), the list results of split/chunk/unbind, and error cases.
local tg = require "tgrad"

local function fixture_path()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*[/\\])") or "spec/"
  return dir .. "fixtures/shape.lua"
end

local fixtures = assert(dofile(fixture_path()))

---------------------------------------------------------------- helpers
local function nest(data, shape, dim, offset)
  dim, offset = dim or 1, offset or 0
  local stride = 1
  for d = dim + 1, #shape do stride = stride * shape[d] end
  local t = {}
  for i = 1, shape[dim] do
    if dim == #shape then
      t[i] = data[offset + i]
    else
      t[i] = nest(data, shape, dim + 1, offset + (i - 1) * stride)
    end
  end
  return t
end

local function build(spec, requires_grad)
  local opts = {dtype = tg[spec.dtype], requires_grad = requires_grad or nil}
  if #spec.shape == 0 then return tg.tensor(spec.data[1], opts) end
  local n = 1
  for _, s in ipairs(spec.shape) do n = n * s end
  if n == 0 then return tg.zeros(spec.shape, opts) end
  return tg.tensor(nest(spec.data, spec.shape), opts)
end

local function flat(x, acc)
  acc = acc or {}
  if type(x) == "table" then for i = 1, #x do flat(x[i], acc) end else acc[#acc + 1] = x end
  return acc
end

local function close(got, want, tol)
  if type(want) == "boolean" or math.type(want) == "integer" then return got == want end
  if type(got) ~= "number" then return false end
  if want ~= want then return got ~= got end
  if want == math.huge or want == -math.huge then return got == want end
  return math.abs(got - want) <= tol + tol * math.abs(want)
end

local function check_tensor(what, t, want, tol)
  assert(tg.is_tensor(t), what .. ": expected a tensor, got " .. type(t))
  local shape = t.shape
  assert(#shape == #want.shape, what .. ": wrong number of dims")
  for i = 1, #shape do
    assert(shape[i] == want.shape[i], ("%s: size %d of dim %d, expected %d"):format(what, shape[i], i, want.shape[i]))
  end
  assert(t.dtype == tg[want.dtype], ("%s: dtype %s, expected %s"):format(what, tostring(t.dtype), want.dtype))
  local got = flat(t:detach():tolist())
  assert(#got == #want.data, what .. ": element count")
  for i = 1, #want.data do
    if not close(got[i], want.data[i], tol) then
      error(("%s: element %d is %s, expected %s"):format(what, i, tostring(got[i]), tostring(want.data[i])), 0)
    end
  end
end

local function compile(case)
  local env = setmetatable({tg = tg, math = math}, {__index = _G})
  return assert(load("local a, b, c = ...; return " .. case.expr, "=" .. case.name, "t", env))
end

local function results(fn, ins)
  local r = table.pack(fn(table.unpack(ins, 1, #ins)))
  if r.n == 1 and type(r[1]) == "table" and not tg.is_tensor(r[1]) then
    local l = {}
    for i, v in ipairs(r[1]) do l[i] = v end
    return l, #l
  end
  return r, r.n
end

local function inputs(case)
  local ins = {}
  for i, spec in ipairs(case.inputs) do ins[i] = build(spec, spec.requires_grad) end
  return ins
end

local function run_case(case)
  local ins = inputs(case)
  local outs, n = results(compile(case), ins)
  assert(n == #case.outputs, ("%d results, expected %d"):format(n, #case.outputs))
  for k, want in ipairs(case.outputs) do check_tensor(("output %d"):format(k), outs[k], want, case.tol) end
  if case.check_grad_fn and case.grad_fn then
    assert.are.equal(case.grad_fn, outs[1].grad_fn and outs[1].grad_fn.name)
  end
  if not case.grads then return end
  local loss
  for k, go in ipairs(case.grad_outs) do
    if go then
      local term = (outs[k] * build(go)):sum()
      loss = loss and loss + term or term
    end
  end
  loss:backward()
  for i, want in ipairs(case.grads) do
    if want then check_tensor(("grad of input %d"):format(i), ins[i].grad, want, case.tol) end
  end
end

describe("shape/index/linalg fixtures vs PyTorch", function()
  for _, case in ipairs(fixtures) do
    it(case.name .. ": " .. case.expr, function() run_case(case) end)
    if case.gradcheck then
      it(case.name .. " gradcheck", function()
        local fn = compile(case)
        assert.is_true(tg.autograd.gradcheck(function(...) return fn(...) end, inputs(case)))
      end)
    end
  end
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
