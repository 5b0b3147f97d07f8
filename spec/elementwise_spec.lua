-- elementwise_spec.lua: every unary and binary elementwise op, table-driven.
--  * values (dtype, shape, numbers) against PyTorch fixtures, for float64,
--    float32, int64 and bool inputs, broadcasting, Lua numbers on either side,
--    non-contiguous inputs (transposed, narrowed, expanded) and special values;
--  * grad_fn names and gradients against PyTorch's, gradcheck (and
--    gradgradcheck where the second derivative is not constant) in float64;
--  * the dtype promotion table (tensors, 0-d tensors, Lua numbers);
--  * errors (bool negation, shape mismatch, integer modulo by zero, ...);
--  * the same results with 1 and 2 threads on large tensors.
-- The fixtures (spec/fixtures/elementwise.lua) are written by
-- tools/gen_elementwise_fixtures.py.
local tg = require "tgrad"

local fixtures = require "support.fixtures"

local fx = fixtures.load("elementwise")

---------------------------------------------------------------- helpers
local function build(spec) return fixtures.build(spec, spec.requires_grad) end

local function values(t) return fixtures.flatten(t:tolist()) end

local function close(a, b, tol)
  if type(b) == "boolean" or math.type(b) == "integer" and math.type(a) == "integer" then return a == b end
  if b ~= b then return a ~= a end
  if b == math.huge or b == -math.huge then return a == b end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

local function same_shape(t, shape)
  local s = t.shape
  if #s ~= #shape then return false end
  for i = 1, #s do if s[i] ~= shape[i] then return false end end
  return true
end

-- compare a tensor with a fixture tensor; returns nil or a message
local function mismatch(t, spec, tol)
  if t.dtype ~= tg[spec.dtype] then
    return ("dtype: got %s, expected %s"):format(tostring(t.dtype), spec.dtype)
  end
  if not same_shape(t, spec.shape) then
    return ("shape: got {%s}, expected {%s}"):format(table.concat(t.shape, ", "), table.concat(spec.shape, ", "))
  end
  local v = values(t)
  for i = 1, #spec.data do
    if not close(v[i], spec.data[i], tol) then
      return ("element %d: got %s, expected %s"):format(i, tostring(v[i]), tostring(spec.data[i]))
    end
  end
end

local compiled = {}
local function fn_of(expr)
  local f = compiled[expr]
  if not f then
    f = assert(load("local tg, a, b, c = ...; return " .. expr, "=" .. expr))
    compiled[expr] = f
  end
  return function(...) return f(tg, ...) end
end

-- bitwise-equal results (NaN matching NaN), counted in C for large tensors
local function same_values(x, y)
  if x.dtype ~= y.dtype or not same_shape(x, y.shape) then return false end
  local eq = x:eq(y):logical_or(x:ne(x):logical_and(y:ne(y)))
  return eq:sum():item() == x:numel()
end

---------------------------------------------------------------- fixtures
describe("elementwise ops against PyTorch", function()
  for _, cs in ipairs(fx.cases) do
    it(cs.name .. ": " .. cs.expr, function()
      local f = fn_of(cs.expr)
      local ins = {}
      for i, s in ipairs(cs.inputs) do ins[i] = build(s) end
      if cs.err then
        assert.has_error(function() f(table.unpack(ins)) end)
        return
      end
      local out = f(table.unpack(ins))
      local m = mismatch(out, cs.out, cs.tol)
      assert(not m, m)
      if cs.grad_fn then
        assert.equals("<" .. cs.grad_fn .. ">", tostring(out.grad_fn))
        out:backward(build(cs.grad_out))
        for i, g in ipairs(cs.grads) do
          if g then
            assert.is_not_nil(ins[i].grad, "no gradient for input " .. i)
            local gm = mismatch(ins[i].grad, g, math.max(cs.tol, 1e-6))
            assert(not gm, "gradient of input " .. i .. ": " .. tostring(gm))
          end
        end
      else
        assert.is_nil(out.grad_fn)
      end
    end)
    if cs.gradcheck then
      it(cs.name .. ": gradcheck " .. cs.expr, function()
        local ins = {}
        for i, s in ipairs(cs.inputs) do ins[i] = build(s) end
        assert.is_true(tg.autograd.gradcheck(fn_of(cs.expr), ins))
      end)
    end
    if cs.gradgrad then
      it(cs.name .. ": gradgradcheck " .. cs.expr, function()
        local ins, diff = {}, {}
        for i, s in ipairs(cs.inputs) do
          ins[i] = build(s)
          if ins[i].requires_grad then diff[#diff + 1] = ins[i] end
        end
        local f = fn_of(cs.expr)
        -- the gradient of sum(f) w.r.t. each input, as a function of the inputs, differentiated again
        assert.is_true(#diff > 0)
        for k = 1, #diff do
          local function first(...)
            local args = {...}
            return tg.enable_grad(function()
              local out = f(table.unpack(args))
              local xs = {}
              for _, x in ipairs(args) do if x.requires_grad then xs[#xs + 1] = x end end
              return tg.autograd.grad({out:sum()}, xs, nil, {create_graph = true})[k]
            end)
          end
          assert.is_true(tg.autograd.gradcheck(first, ins))
        end
      end)
    end
  end
end)

---------------------------------------------------------------- promotion
describe("type promotion as PyTorch", function()
  local function operand(s)
    local kind, dt = s:match("^(%a):(%w+)$")
    if kind == "t" then
      return dt == "bool" and tg.tensor({true, false}) or tg.tensor({1, 1}, {dtype = tg[dt]})
    elseif kind == "z" then
      return dt == "bool" and tg.tensor(true) or tg.tensor(1, {dtype = tg[dt]})
    end
    return ({int = 2, float = 2.5, bool = true})[dt]
  end
  for _, row in ipairs(fx.promotion) do
    it(("%s(%s, %s) -> %s"):format(row.op, row.a, row.b, row.dtype or "error"), function()
      local a, b = operand(row.a), operand(row.b)
      if row.err then
        assert.has_error(function() return tg[row.op](a, b) end)
      else
        local r = tg[row.op](a, b)
        assert.equals(tg[row.dtype], r.dtype)
      end
    end)
  end

  it("the rules of the brief", function()
    local i64, f32 = tg.tensor({1, 2}), tg.tensor({1.0, 2.0})
    assert.equals(tg.float32, (i64 + f32).dtype)
    assert.equals(tg.float64, (f32 + tg.tensor({1.0}, {dtype = tg.float64})).dtype)
    assert.equals(tg.float32, (i64 * 2.5).dtype)
    assert.equals(tg.int64, (i64 + 2).dtype)
    assert.equals(tg.float32, (f32 + tg.tensor(1.0, {dtype = tg.float64})).dtype)
    assert.equals(tg.float32, (i64 / i64).dtype)
    assert.equals(tg.bool, (tg.tensor({true}) + tg.tensor({true})).dtype)
    assert.same({true}, (tg.tensor({true}) + tg.tensor({true})):tolist())
  end)
end)

---------------------------------------------------------------- views
-- every elementwise op on transposed, narrowed and expanded inputs gives what it
-- gives on a contiguous copy (large enough to take the threaded path too)
local UNARY = {"neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "tan", "tanh",
  "sigmoid", "relu", "gelu", "silu", "softplus", "erf", "floor", "ceil", "round", "trunc", "reciprocal", "square",
  "logical_not"}
local UNARY_ARGS = {clamp = {-0.5, 0.5}, clip = {nil, 0.2}, softplus = {2, 1}}
local BINARY = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder", "eq", "ne",
  "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}

local function views(x)
  -- x: (n, m) contiguous; returns named (m', n')-ish views and their contiguous copies
  local n, m = x:size(1), x:size(2)
  return {
    t = x:t(),
    narrow = x:narrow(2, 2, m - 2),
    expand = x:narrow(1, 1, 1):expand(n, m),
    step = x:t():narrow(1, 2, m - 2),
  }
end

describe("non-contiguous and broadcast inputs", function()
  for _, size in ipairs({{5, 7}, {300, 260}}) do
    local label = size[1] * size[2] > 32768 and " (large)" or ""
    for _, op in ipairs(UNARY) do
      it(op .. " on views" .. label, function()
        tg.manual_seed(7)
        local x = tg.rand(size[1], size[2], {dtype = tg.float64}) * 1.8 + 0.1
        for name, v in pairs(views(x)) do
          assert.is_false(v:is_contiguous(), name)
          assert(same_values(tg[op](v), tg[op](v:contiguous())), op .. " on " .. name)
        end
      end)
    end
    for op, args in pairs(UNARY_ARGS) do
      it(op .. " with arguments on views" .. label, function()
        local x = tg.randn(size[1], size[2])
        for name, v in pairs(views(x)) do
          assert(same_values(tg[op](v, args[1], args[2]), tg[op](v:contiguous(), args[1], args[2])), op .. " on " .. name)
        end
      end)
    end
    for _, op in ipairs(BINARY) do
      it(op .. " on views and broadcasts" .. label, function()
        tg.manual_seed(11)
        local a = tg.rand(size[1], size[2], {dtype = tg.float64}) * 3 + 0.5
        local b = tg.rand(size[1], size[2], {dtype = tg.float64}) * 2 + 0.5
        local va, vb = views(a), views(b)
        for name, v in pairs(va) do
          local w = vb[name]
          assert(same_values(tg[op](v, w), tg[op](v:contiguous(), w:contiguous())), op .. " on " .. name)
        end
        -- broadcasting: a column against a row, and a 0-d tensor, against expanded copies
        local col, row = a:narrow(2, 1, 1), b:narrow(1, 1, 1)
        local full = {size[1], size[2]}
        assert(same_values(tg[op](col, row), tg[op](col:expand(full):contiguous(), row:expand(full):contiguous())),
          op .. " column x row")
        local z = tg.tensor(1.25, {dtype = tg.float64})
        assert(same_values(tg[op](a:t(), z), tg[op](a:t():contiguous(), z:expand(size[2], size[1]):contiguous())),
          op .. " with a 0-d tensor")
      end)
    end
  end

  it("int64 and bool operands on views", function()
    local a = tg.randint(-9, 10, {40, 30})
    local b = tg.randint(1, 6, {40, 30})
    for _, op in ipairs({"add", "mul", "maximum", "minimum", "fmod", "remainder", "eq", "logical_xor"}) do
      assert(same_values(tg[op](a:t(), b:t()), tg[op](a:t():contiguous(), b:t():contiguous())), op)
    end
    local m = a:gt(0)
    assert(same_values(tg.logical_and(m:t(), m:narrow(1, 1, 1):expand(40, 30):t()),
      tg.logical_and(m:t():contiguous(), m:narrow(1, 1, 1):expand(40, 30):t():contiguous())))
  end)
end)

---------------------------------------------------------------- threads
describe("threads", function()
  local saved
  before_each(function() saved = tg.get_num_threads() end)
  after_each(function() tg.set_num_threads(saved) end)

  it("gives the same results with 1 and 2 threads on large tensors", function()
    tg.manual_seed(3)
    local x = tg.rand(400, 300, {dtype = tg.float32}) * 4 - 2
    local y = tg.rand(300, {dtype = tg.float32}) + 0.5
    local function all_ops()
      local r = {}
      for _, op in ipairs(UNARY) do r[#r + 1] = tg[op](x) r[#r + 1] = tg[op](x:t()) end
      for _, op in ipairs(BINARY) do r[#r + 1] = tg[op](x, y) r[#r + 1] = tg[op](x:t(), x:t()) end
      r[#r + 1] = x:clamp(-0.5, 0.5)
      r[#r + 1] = tg.add(x:t():narrow(1, 2, 200), x:t():narrow(1, 1, 200), {alpha = 3})
      return r
    end
    tg.set_num_threads(1)
    local one = all_ops()
    local mm1 = tg.matmul(x, x:t())
    for _, n in ipairs({2, 3}) do
      tg.set_num_threads(n)
      assert.equals(n, tg.get_num_threads())
      local other = all_ops()
      for i = 1, #one do assert(same_values(one[i], other[i]), "result " .. i .. " with " .. n .. " threads") end
      -- OpenBLAS follows the setting too; its sums may be split differently, so: close
      local mm = tg.matmul(x, x:t())
      assert.is_true((mm - mm1):abs():sum():item() < 1e-3 * mm1:abs():sum():item())
    end
  end)

  it("is per state and refuses nonsense", function()
    tg.set_num_threads(1)
    assert.equals(1, tg.get_num_threads())
    assert.has_error(function() tg.set_num_threads(0) end)
  end)
end)

---------------------------------------------------------------- errors
describe("elementwise errors", function()
  local function err_of(f, ...)
    local ok, e = pcall(f, ...)
    assert.is_false(ok, "expected an error")
    return tostring(e)
  end

  it("bool negation", function()
    local e = err_of(function() return -tg.tensor({true, false}) end)
    assert.truthy(e:find("Negation, the `-` operator, on a bool tensor is not supported.", 1, true), e)
    e = err_of(tg.neg, tg.tensor({true}))
    assert.truthy(e:find("logical_not()", 1, true), e)
  end)

  it("shape mismatch, 1-based dims", function()
    local e = err_of(function() return tg.ones(2, 4) + tg.ones(2, 3) end)
    assert.truthy(e:find("The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 2", 1,
      true), e)
    for _, op in ipairs(BINARY) do
      e = err_of(tg[op], tg.ones(5, 2, 4), tg.ones(3, 1))
      assert.truthy(e:find("must match the size of tensor b (3) at non-singleton dimension 2", 1, true), op .. ": " .. e)
    end
    e = err_of(tg.clamp, tg.ones(2, 4), tg.ones(3))
    assert.truthy(e:find("non-singleton dimension 2", 1, true), e)
  end)

  it("the error names the Lua caller's line", function()
    local e = err_of(function() return tg.ones(4) + tg.ones(3) end)
    assert.truthy(e:find("elementwise_spec.lua:%d+:"), e)
  end)

  it("integer modulo by zero raises ZeroDivisionError (no SIGFPE)", function()
    local a = tg.tensor({5, -5, 7})
    for _, f in ipairs({
      function() return tg.fmod(a, tg.tensor({1, 0, 2})) end,
      function() return tg.remainder(a, tg.tensor({1, 2, 0})) end,
      function() return a % 0 end,
      function() return a % tg.zeros(3, {dtype = tg.int64}) end,
      function() return tg.fmod(a:t(), 0) end,
      function() return tg.remainder(7, tg.tensor({0})) end,
      function() return tg.fmod(tg.tensor({true, false}):long(), tg.tensor({false}):long()) end,
      function() return tg.remainder(tg.randint(1, 5, {100, 100}), tg.zeros(100, {dtype = tg.int64})) end,
    }) do
      local e = err_of(f)
      assert.truthy(e:find("ZeroDivisionError", 1, true), e)
    end
    -- floats divide by zero as IEEE does
    assert.is_true(tg.fmod(tg.tensor({1.0}), 0):item() ~= tg.fmod(tg.tensor({1.0}), 0):item())
    assert.equals(math.huge, (tg.tensor({1}) / 0):item())
    -- and INT64_MIN % -1 does not trap
    assert.same({0, 0}, tg.fmod(tg.tensor({math.mininteger, 5}), -1):tolist())
    assert.same({0}, tg.remainder(tg.tensor({math.mininteger}), tg.tensor({-1})):tolist())
  end)

  it("bool subtraction and bool-only refusals", function()
    local t = tg.tensor({true, false})
    local e = err_of(function() return t - t end)
    assert.truthy(e:find("with two bool tensors is not supported", 1, true), e)
    e = err_of(function() return t - 1 end)
    assert.truthy(e:find("with a bool tensor is not supported", 1, true), e)
    e = err_of(tg.abs, t)
    assert.truthy(e:find("not implemented for 'Bool'", 1, true), e)
    e = err_of(tg.relu, t)
    assert.truthy(e:find("Boolean inputs not supported for relu", 1, true), e)
    e = err_of(tg.pow, t, t)
    assert.truthy(e:find("not implemented for 'Bool'", 1, true), e)
    e = err_of(tg.gelu, tg.tensor({1, 2}))
    assert.truthy(e:find("not implemented for 'Long'", 1, true), e)
  end)

  it("argument errors", function()
    local x = tg.randn(3)
    local e = err_of(tg.clamp, x)
    assert.truthy(e:find("At least one of 'min' or 'max' must not be None", 1, true), e)
    e = err_of(tg.clamp, x, "a")
    assert.truthy(e:find("bad argument #2 to 'clamp'", 1, true), e)
    e = err_of(tg.add, tg.tensor({1, 2}), tg.tensor({1, 2}), {alpha = 0.5})
    assert.truthy(e:find("alpha must not be a floating point number", 1, true), e)
    e = err_of(tg.add, x, x, {alpha = "two"})
    assert.truthy(e:find("alpha", 1, true), e)
    e = err_of(tg.gelu, x, {approximate = "cubic"})
    assert.truthy(e:find("approximate argument must be either none or tanh", 1, true), e)
    e = err_of(tg.maximum, 1, 2)
    assert.truthy(e:find("expected Tensor", 1, true), e)
    e = err_of(tg.atan2, x, "b")
    assert.truthy(e:find("expected Tensor or number", 1, true), e)
    e = err_of(function() return tg.tensor({1, 2}) ^ -1 end)
    assert.truthy(e:find("Integers to negative integer powers are not allowed.", 1, true), e)
    e = err_of(function() return x % "s" end)
    assert.truthy(e:find("expected Tensor or number", 1, true), e)
  end)
end)

---------------------------------------------------------------- odds and ends
describe("elementwise details", function()
  it("logical ops give bool and are never tracked", function()
    local x = tg.randn(4, {requires_grad = true})
    for _, r in ipairs({x:logical_not(), x:logical_and(x), tg.logical_or(x, 0), x:logical_xor(true)}) do
      assert.equals(tg.bool, r.dtype)
      assert.is_nil(r.grad_fn)
    end
  end)

  it("grad_fn names follow PyTorch for the number forms", function()
    local x = tg.randn(3, {requires_grad = true, dtype = tg.float64})
    assert.equals("<FmodBackward0>", tostring(tg.fmod(x, 2).grad_fn))
    assert.equals("<FmodBackward1>", tostring(tg.fmod(x, x).grad_fn))
    assert.equals("<RemainderBackward0>", tostring((x % 2).grad_fn))
    assert.equals("<RemainderBackward1>", tostring((x % x).grad_fn))
    assert.equals("<AddBackward0>", tostring(x:add(x, {alpha = 2}).grad_fn))
    assert.equals("<SubBackward0>", tostring(x:sub(1, {alpha = 2}).grad_fn))
    assert.equals("<ClampBackward1>", tostring(x:clamp(nil, 1).grad_fn))
    assert.equals("<ClampBackward0>", tostring(x:clamp(tg.zeros(3, {dtype = tg.float64})).grad_fn))
    assert.equals("<PowBackward0>", tostring(x:square().grad_fn))
    assert.equals("<GeluBackward0>", tostring(x:gelu({approximate = "tanh"}).grad_fn))
    assert.equals("<SoftplusBackward0>", tostring(tg.softplus(x, {beta = 3}).grad_fn))
  end)

  it("clamp accepts numbers, nil, options, tensors and mixes; clip is an alias", function()
    local x = tg.tensor({-2.0, -0.5, 0.5, 2.0})
    assert.same({-1, -0.5, 0.5, 1}, x:clamp(-1, 1):tolist())
    assert.same({-1, -0.5, 0.5, 2}, x:clamp(-1):tolist())
    assert.same({-2, -0.5, 0.5, 1}, x:clamp(nil, 1):tolist())
    assert.same({-2, -0.5, 0.5, 1}, x:clamp({max = 1}):tolist())
    assert.same({-1, -0.5, 0.5, 1}, tg.clip(x, -1, 1):tolist())
    assert.same({-1, -0.5, 0.5, 1}, x:clamp(tg.tensor(-1.0), 1):tolist())
    assert.same({0, 0, 0.5, 1}, x:clamp(0, tg.tensor({1.0, 1.0, 1.0, 1.0})):tolist())
  end)

  it("add/sub alpha gradients scale the second operand", function()
    local a = tg.randn(3, {requires_grad = true})
    local b = tg.randn(3, {requires_grad = true})
    tg.sub(a, b, {alpha = 2.5}):sum():backward()
    assert.same({1, 1, 1}, a.grad:tolist())
    assert.same({-2.5, -2.5, -2.5}, b.grad:tolist())
    local c = tg.add(a, b, {alpha = 1})
    assert.equals("<AddBackward0>", tostring(c.grad_fn))
  end)

  it("% is remainder with the sign of the divisor (Lua's and Python's %)", function()
    local a = tg.tensor({5, -5, 5, -5})
    local b = tg.tensor({3, 3, -3, -3})
    local r = (a % b):tolist()
    for i = 1, 4 do assert.equals(a[i]:item() % b[i]:item(), r[i]) end
    local fa = tg.tensor({5.5, -5.5, 5.5, -5.5}, {dtype = tg.float64})
    local fr = (fa % b):tolist()
    for i = 1, 4 do assert.equals(fa[i]:item() % b[i]:item(), fr[i]) end
    assert.same({2, -2, 2, -2}, tg.fmod(a, b):tolist())
  end)

  it("empty tensors", function()
    local e = tg.zeros(0, 3)
    for _, op in ipairs(UNARY) do assert.same({0, 3}, tg[op](e).shape) end
    for _, op in ipairs(BINARY) do assert.same({0, 3}, tg[op](e, tg.ones(3)).shape) end
    assert.same({0, 3}, tg.fmod(tg.zeros(0, 3, {dtype = tg.int64}), tg.zeros(3, {dtype = tg.int64})).shape)
  end)
end)

describe("float32 kernels written for the vector units", function()
  local assert_close = require("support.helpers").assert_close
  it("exp is within one ulp of the exact value, and right at the edges", function()
    local x = tg.linspace(-87, 88, 200001)
    local exact = x:double():exp()
    local rel = ((x:exp():double() - exact):abs() / exact):max():item()
    assert.is_true(rel < 2 ^ -23, "max relative error " .. rel)
    local e = tg.tensor({0 / 0, 1 / 0, -1 / 0, 0, 88.73, 89, 200, -103, -104, -1000}):exp():tolist()
    assert.is_true(e[1] ~= e[1])
    assert.are.same({1 / 0, 0, 1, 1 / 0, 1 / 0, 1 / 0, 2 ^ -149, 0, 0}, {table.unpack(e, 2)})
    -- the vector body and the scalar tail give the same bits
    local v = tg.full({37}, 0.3):exp():tolist()
    for i = 2, 37 do assert.are.equal(v[1], v[i]) end
    assert_close(tg.tensor({-30, -2, 0, 2, 30}):sigmoid(), {9.357622968840175e-14, 0.11920292202211755, 0.5, 0.8807970779778823, 1}, 1e-6)
    assert_close(tg.tensor({-2, 0.5}):silu(), {-0.23840584404423515, 0.3112296656009273}, 1e-6)
  end)

  it("sum of float32 keeps small terms (float blocks widened to double, cpu_sum.c)", function()
    -- a float accumulator would drift to 100958.34 here
    assert_close(tg.full({1000003}, 0.1):sum(), 1000003 * 0.1, 1e-6)
    local x = tg.arange(1, 1000001):float()
    -- small terms next to large ones survive
    local t = {}
    for i = 1, 256 do t[i] = 0 end
    t[1], t[33], t[65], t[97] = 1e8, 1, -1e8, 1
    assert.are.equal(2, tg.tensor(t):float():sum():item())
    -- the exact 500000500000, rounded once to float32
    assert.are.equal(tg.tensor(500000500000):float():double():item(), x:sum():double():item())
  end)
end)

describe("pow's gradient with a zero exponent", function()
  local helpers = require "support.helpers"
  it("is 0 (PyTorch masks it), also at x = 0 where b * x^(b-1) would be 0 * inf", function()
    local x = helpers.d64({0, 2})
    ;(x ^ 0):sum():backward()
    helpers.assert_close(x.grad, {0, 0})
    x.grad = nil
    ;(x ^ tg.tensor({0, 3}, {dtype = tg.float64})):sum():backward()
    helpers.assert_close(x.grad, {0, 12})
  end)
end)
