-- perop_fast_spec.lua (issue 11, per-op floor, helper perop2): the binary fast
-- paths give exactly what the general path gives.
--  * a tensor and a Lua number (t * 2.5, 1 - t, tg.div(t, 3)): no 0-d wrapped
--    tensor; forced onto the general path by an options table ({}), by a 0-d
--    tensor holding the number, by a non-contiguous operand or by a graph;
--  * two tensors of one shape and dtype, contiguous (a + b): forced onto the
--    general path by a non-contiguous or broadcast operand;
--  * in place (w:add_(g)), the same.
-- Values are compared bit for bit (NaN with NaN), with dtype and shape.
local tg = require "tgrad"
local H = require "support.helpers"

local function same(a, b)
  assert.are.equal(a.dtype, b.dtype)
  assert.are.same(a.shape, b.shape)
  if a.dtype == tg.int64 or a.dtype == tg.bool then
    local x, y = a:_flat(), b:_flat()
    for i = 1, #x do
      if x[i] ~= y[i] then error(("element %d differs: %s vs %s"):format(i, tostring(x[i]), tostring(y[i])), 2) end
      if a.dtype == tg.int64 then assert.are.equal("integer", math.type(x[i])) end
    end
  else
    H.assert_same_bits(a, b)
  end
end

-- the message of a call that must fail
local function err(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  return (tostring(e):gsub("^.-:%d+: ", ""))
end

-- odd values: zeros of both signs, inf, nan, tiny, huge, and a 7x5 random block
local function float_input(dt)
  local t = tg.randn(7, 5, {dtype = dt}) * 3
  local flat = t:view(-1)
  local odd = {0, -0.0, math.huge, -math.huge, 0 / 0, 1e-40, -1e-310, 3.4e38, -1e300, 1}
  for i, v in ipairs(odd) do flat[i] = v end
  return t
end

local OPS = {"add", "sub", "mul", "div"}
local META = {add = function(a, b) return a + b end, sub = function(a, b) return a - b end,
              mul = function(a, b) return a * b end, div = function(a, b) return a / b end}
local NUMBERS = {2.5, -0.01, 0.1, 1 / 3, 0, -0.0, 3, -7, 0.5, 1e300, -1e-320, math.huge, 0 / 0,
                 2 ^ 53 + 1, 9007199254740993, math.maxinteger, math.mininteger}

describe("perop2: tensor op Lua number", function()
  for _, dt in ipairs({"float32", "float64"}) do
    for _, op in ipairs(OPS) do
      it(("%s %s number, number %s %s: the general path's bits"):format(dt, op, op, dt), function()
        local x = float_input(tg[dt])
        for _, v in ipairs(NUMBERS) do
          same(tg[op](x, v, {}), tg[op](x, v))
          same(tg[op](v, x, {}), tg[op](v, x))
          same(tg[op](x, v, {}), META[op](x, v))
          same(tg[op](v, x, {}), META[op](v, x))
          same(tg[op](x, v, {}), x[op](x, v))
          -- the number as a 0-d float64 / int64 tensor: the same promotion and the same cast
          local s = math.type(v) == "integer" and tg.tensor(v, {dtype = tg.int64}) or tg.tensor(v, {dtype = tg.float64})
          same(tg[op](x, s), tg[op](x, v))
          same(tg[op](s, x), tg[op](v, x))
        end
      end)
    end
  end

  it("int64 tensor with an integer: int64, exact past 2^53", function()
    local x = tg.tensor({9007199254740993, -(2 ^ 60 | 0), 7, 0, -1, 123456789012345}, {dtype = tg.int64})
    for _, op in ipairs({"add", "sub", "mul"}) do
      for _, v in ipairs(op == "mul" and {1, -3, 0, 2} or {1, -3, 0, 2, 1000003}) do -- no int64 overflow
        same(tg[op](x, v, {}), tg[op](x, v))
        same(tg[op](v, x, {}), tg[op](v, x))
        same(tg[op](x, tg.tensor(v, {dtype = tg.int64})), META[op](x, v))
      end
    end
    assert.are.equal(9007199254740994, (x + 1):_flat()[1])
    assert.are.equal(9007199254740992, (x - 1):_flat()[1])
    assert.are.equal(-(2 ^ 60 | 0) * 2, (2 * x):_flat()[2])
  end)

  it("int64 tensor with a float, and int64 division: float32, as before", function()
    local x = tg.tensor({1, -2, 3, 2 ^ 40 | 0}, {dtype = tg.int64})
    for _, op in ipairs(OPS) do
      for _, v in ipairs({2.5, 2, -0.5}) do
        local r = tg[op](x, v)
        if op == "div" or math.type(v) == "float" then assert.are.equal(tg.float32, r.dtype) end
        same(tg[op](x, v, {}), r)
        same(tg[op](v, x, {}), tg[op](v, x))
      end
    end
    same(tg.tensor({0.5, -1, 1.5, 549755813888}, {dtype = tg.float32}), x / 2)
  end)

  it("bool tensors and boolean operands keep their promotion and errors", function()
    local b = tg.tensor({true, false, true})
    same(tg.add(b, 1, {}), b + 1)
    assert.are.equal(tg.int64, (b + 1).dtype)
    same(tg.mul(b, 2.5, {}), b * 2.5)
    assert.are.equal(tg.float32, (b * 2.5).dtype)
    local f = tg.tensor({1.5, 2, -3})
    same(tg.add(f, true, {}), f + true)
    same(tg.mul(f, false, {}), f * false)
    assert.are.equal(err(function() return tg.sub(b, 1, {}) end), err(function() return b - 1 end))
    assert.are.equal(err(function() return tg.sub(f, true, {}) end), err(function() return f - true end))
    assert.matches("Subtraction, the `%-` operator, with a bool tensor is not supported", err(function() return b - 1 end))
  end)

  it("0-d, empty and non-contiguous tensors", function()
    for _, dt in ipairs({"float32", "float64", "int64"}) do
      local z = tg.tensor(5, {dtype = tg[dt]})
      same(tg.mul(z, 3, {}), z * 3)
      assert.are.same({}, (z * 3).shape)
      same(tg.sub(7, z, {}), 7 - z)
      local e = tg.zeros(0, 3, {dtype = tg[dt]})
      same(tg.add(e, 2, {}), e + 2)
      assert.are.same({0, 3}, (2 - e).shape)
    end
    local x = float_input(tg.float32)
    local xt = x:t() -- non-contiguous: the general path
    same(xt:contiguous() * 2.5, xt * 2.5)
    same(1 / xt:contiguous(), 1 / xt)
    local xs = x:narrow(2, 2, 3) -- a strided slice
    same(xs:contiguous() - 0.1, xs - 0.1)
    -- a contiguous view with an offset takes the fast path: the right elements
    local row = x:select(1, 3)
    same(tg.mul(row:contiguous(), -0.01, {}), row * -0.01)
  end)

  it("a result is a new tensor, the operand is unchanged", function()
    local x = tg.tensor({1, 2, 3}, {dtype = tg.float64})
    local y = x * 2
    y[1] = 100
    assert.are.same({1, 2, 3}, x:tolist())
    assert.are.same({100, 4, 6}, y:tolist())
  end)

  it("errors: freed tensors, bad types, keep their text", function()
    local t = tg.ones(3)
    t:free()
    assert.are.equal(err(function() return tg.mul(t, 2, {}) end), err(function() return tg.mul(t, 2) end))
    assert.matches("freed", err(function() return t * 2 end))
    assert.matches("freed", err(function() return 2 - t end))
    assert.matches("expected Tensor but got string", err(function() return tg.mul("a", 2) end))
    assert.matches("expected Tensor or number but got string", err(function() return tg.ones(2) * "x" end))
  end)

  it("records the same graph: node names, what backward reads, gradients", function()
    local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
    local names = {
      {function() return x * 2.5 end, "MulBackward0"}, {function() return 2.5 * x end, "MulBackward0"},
      {function() return x + 1 end, "AddBackward0"}, {function() return x - 1 end, "SubBackward0"},
      {function() return 1 - x end, "RsubBackward1"}, {function() return x / 3 end, "DivBackward0"},
      {function() return 3 / x end, "DivBackward0"},
    }
    for _, c in ipairs(names) do assert.are.equal(c[2], c[1]().grad_fn.name) end
    -- under no_grad (and on a detached tensor) nothing is recorded
    tg.no_grad(function() assert.is_nil((x * 2).grad_fn) end)
    assert.is_nil((x:detach() * 2).grad_fn)
    local y = (x * -0.5):sum()
    y:backward()
    same(tg.full({3, 4}, -0.5, {dtype = tg.float64}), x.grad)
  end)

  it("gradcheck and gradgradcheck through t op s and s op t (float64)", function()
    local x = tg.rand(3, 4, {dtype = tg.float64}) + 0.5
    x:requires_grad_()
    local fs = {
      function(t) return t * 2.5 end, function(t) return -0.3 * t end, function(t) return t + 1.5 end,
      function(t) return 2 - t end, function(t) return t - 4 end, function(t) return t / 3 end,
      function(t) return 2 / t end, function(t) return tg.mul(t, 3) * t end, function(t) return (t * t) / 7 end,
    }
    for _, f in ipairs(fs) do
      assert.is_true(tg.autograd.gradcheck(f, {x}))
      assert.is_true(tg.autograd.gradgradcheck(f, {x}))
    end
  end)

  it("double backward through a backward formula's scalar ops (create_graph)", function()
    local x = tg.tensor({0.5, 1.5, -2}, {dtype = tg.float64, requires_grad = true})
    local y = (x:pow(3) / 3):sum()
    local g = tg.autograd.grad({y}, {x}, nil, {create_graph = true})[1]
    same(x:detach() * x:detach(), g:detach())
    local gg = tg.autograd.grad({g:sum()}, {x})[1]
    same(x:detach() * 2, gg)
  end)
end)

describe("perop2: two tensors of one shape", function()
  local function noncontig(t) return t:t():contiguous():t() end -- same values, transposed strides
  for _, dt in ipairs({"float32", "float64", "int64", "bool"}) do
    it(("%s: the general path's bits for every binary op"):format(dt), function()
      local a, b
      if dt == "int64" then
        a = tg.randint(-50, 50, {5, 7}); b = tg.randint(1, 9, {5, 7})
      elseif dt == "bool" then
        a = tg.rand(5, 7):gt(0.5); b = tg.rand(5, 7):gt(0.5)
      else
        a = float_input(tg[dt]):t():contiguous(); b = float_input(tg[dt]):t():contiguous()
      end
      local ops = {"add", "sub", "mul", "div", "maximum", "minimum", "eq", "lt"}
      for _, op in ipairs(ops) do
        local ok, r = pcall(tg[op], a, b)
        local ok2, r2 = pcall(tg[op], a, noncontig(b))
        assert.are.equal(ok, ok2)
        if ok then same(r2, r) else assert.are.equal(tostring(r2), tostring(r)) end
        -- broadcasting one row: the general path, same values row by row
        if ok then same(tg[op](a:narrow(1, 2, 1), b:narrow(1, 2, 1)), tg[op](a:narrow(1, 2, 1), b:narrow(1, 2, 1):expand(1, 7))) end
      end
    end)
  end

  it("0-d, empty, views with an offset", function()
    same(tg.tensor(3.5) + tg.tensor(1.25), tg.tensor(4.75))
    assert.are.same({0, 4}, (tg.zeros(0, 4) * tg.ones(0, 4)).shape)
    local x = tg.randn(4, 6)
    local r1, r2 = x:select(1, 2), x:select(1, 4)
    same(r1:contiguous() + r2:contiguous(), r1 + r2)
    same(noncontig(x) * x, x * x)
  end)

  it("records the same graph and gradients", function()
    local a = tg.randn(3, 5, {dtype = tg.float64, requires_grad = true})
    local b = tg.randn(3, 5, {dtype = tg.float64, requires_grad = true})
    assert.are.equal("AddBackward0", (a + b).grad_fn.name)
    assert.are.equal("DivBackward0", (a / b).grad_fn.name)
    assert.is_true(tg.autograd.gradcheck(function(p, q) return p * q + p / (q * q + 1) - q end, {a, b}))
    assert.is_true(tg.autograd.gradgradcheck(function(p, q) return p * q - p / (q * q + 1) end, {a, b}))
  end)

  it("shape and dtype errors keep their text", function()
    assert.matches("The size of tensor a %(3%) must match the size of tensor b %(4%) at non%-singleton dimension 1",
                   err(function() return tg.ones(3) + tg.ones(4) end))
    assert.matches("with two bool tensors is not supported", err(function() return tg.ones(2):gt(0) - tg.ones(2):gt(0) end))
  end)
end)

describe("perop2: in place", function()
  for _, dt in ipairs({"float32", "float64", "int64"}) do
    it(("%s add_ sub_ mul_ div_: the general path's bits, versions bumped"):format(dt), function()
      local ops = dt == "int64" and {"add_", "sub_", "mul_"} or {"add_", "sub_", "mul_", "div_"}
      for _, op in ipairs(ops) do
        local w, g
        if dt == "int64" then w = tg.randint(-9, 9, {4, 6}); g = tg.randint(1, 5, {4, 6})
        else w = float_input(tg[dt]):narrow(1, 1, 4):contiguous(); g = float_input(tg[dt]):narrow(1, 2, 4):contiguous() end
        local w2 = w:clone()
        local v0 = w:_version()
        local r = w[op](w, g)
        assert.is_true(rawequal(r, w))
        assert.are.equal(v0 + 1, w:_version())
        w2[op](w2, g:t():contiguous():t()) -- general path
        same(w2, w)
        -- the same memory: the general path, as x = x op x
        local w3 = w:clone()
        local expect = tg[op:sub(1, -2)](w3, w3)
        w3[op](w3, w3)
        same(expect, w3)
      end
    end)
  end

  it("through .data (the hand SGD update) and with a number", function()
    local p = tg.randn(4, 3, {requires_grad = true})
    local g = tg.randn(4, 3)
    local expect = p:detach() + g * -0.01
    p.data:add_(g * -0.01)
    same(expect, p:detach())
    local q = tg.randn(5)
    local q2 = q:clone()
    q:mul_(0.9)
    q2:mul_(tg.tensor(0.9, {dtype = tg.float64}))
    same(q2, q)
  end)

  it("refusals keep their text", function()
    local leaf = tg.randn(3, {requires_grad = true})
    assert.are.equal(err(function() leaf:add_(tg.ones(3), {alpha = 1}) end), err(function() leaf:add_(tg.ones(3)) end))
    assert.matches("a leaf Variable that requires grad", err(function() leaf:add_(tg.ones(3)) end))
    local e = tg.ones(3):expand(2, 3)
    assert.matches("more than one element of the written%-to tensor", err(function() e:add_(tg.ones(2, 3)) end))
    assert.matches("result type Float can't be cast to the desired output type Long",
                   err(function() tg.ones(3, {dtype = tg.int64}):add_(tg.ones(3)) end))
    local t = tg.ones(3)
    local f = tg.ones(3)
    f:free()
    assert.matches("freed", err(function() t:add_(f) end))
  end)

  it("a graph in place: recorded as before", function()
    local a = tg.randn(3, {dtype = tg.float64, requires_grad = true})
    local b = tg.randn(3, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(p, q) local r = p * 1; r:mul_(q); r:add_(q); return r end, {a, b}))
    local r = a * 1
    r:add_(b)
    assert.are.equal("AddBackward0", r.grad_fn.name)
  end)
end)

describe("perop2: small products with a transposed right operand", function()
  -- B = S^T with S contiguous (a linear layer's input gradient g @ W^T) is packed by register
  -- transposes: the product has the bits of the one with B made contiguous first
  for _, dt in ipairs({"float32", "float64"}) do
    it(dt .. ": edges of every size around the 8x8 / 4x4 blocks", function()
      for _, m in ipairs({1, 2, 5}) do
        for _, k in ipairs({1, 3, 4, 7, 8, 9, 16, 17, 32, 33}) do
          for _, n in ipairs({1, 2, 4, 5, 8, 11, 16, 32, 37}) do
            local a = tg.randn(m, k, {dtype = tg[dt]})
            local S = tg.randn(n, k, {dtype = tg[dt]})
            same(a:matmul(S:t():contiguous()), a:matmul(S:t()))
          end
        end
      end
    end)
  end

  it("a slice of a wider matrix (row stride past k) and the gradient of a layer", function()
    local big = tg.randn(24, 40)
    local S = big:narrow(2, 3, 19) -- rows of 19 inside rows of 40
    local a = tg.randn(3, 19)
    same(a:matmul(S:t():contiguous()), a:matmul(S:t()))
    local W = tg.randn(32, 32, {dtype = tg.float64, requires_grad = true})
    local x = tg.randn(1, 32, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(p, q) return p:matmul(q:t()) end, {x, W}))
  end)
end)

describe("perop2: large operands split across threads", function()
  it("the same bits with 1 and 2 threads, fast and general paths", function()
    local before = tg.get_num_threads and tg.get_num_threads() or 1
    local x = tg.randn(300, 140) -- 42000 elements: past the serial grain
    local y = tg.randn(300, 140)
    local w = x:clone()
    local r = {}
    for _, nt in ipairs({1, 2}) do
      tg.set_num_threads(nt)
      r[nt] = {x * 0.37, 1.5 - x, x + y, x / y, tg.mul(x, 0.37, {}), x + y:t():contiguous():t()}
      local w2 = w:clone()
      w2:mul_(y)
      r[nt][7] = w2
    end
    tg.set_num_threads(before)
    for i = 1, 7 do same(r[1][i], r[2][i]) end
    same(r[1][5], r[1][1])
    same(r[1][6], r[1][3])
  end)
end)
