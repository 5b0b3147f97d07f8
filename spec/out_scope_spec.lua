-- out_scope_spec.lua: buffers reused as soon as they are dead (issue 11).
-- The out option (PyTorch's out=): values across ops and dtypes, every error
-- text, aliasing, versions; tg.scope: released temporaries, kept results,
-- nesting, errors, autograd graphs and .grad; and the collector still seeing
-- all tensor memory over 10,000 iterations without collectgarbage().
local tg = require "tgrad"

local function errors(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error containing: " .. text)
  assert(tostring(err):find(text, 1, true), ("error %q does not contain %q"):format(tostring(err), text))
  return err
end

local function same(a, b, tol)
  assert.are.same(a.shape, b.shape)
  local d = (a:double() - b:double()):abs()
  local m = d:numel() > 0 and d:max():item() or 0
  assert(m <= (tol or 0), ("max difference %g"):format(m))
end

local FREED = "the tensor was freed by tg.scope"

describe("out=", function()
  local a32, b32 = tg.randn(3, 5), tg.randn(5)
  local a64, b64 = tg.randn(4, 3, {dtype = tg.float64}), tg.randn(4, 1, {dtype = tg.float64})

  it("writes unary ops into out and returns out itself, for float32 and float64", function()
    for _, name in ipairs({"neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "sin", "cos", "sign", "floor"}) do
      for _, x in ipairs({a32, a64}) do
        local xin = (name == "log" or name == "sqrt") and x:abs() or x
        local out = tg.empty(x.shape, {dtype = x.dtype})
        local r = tg[name](xin, {out = out})
        assert.is_true(rawequal(r, out), name)
        same(out, tg[name](xin))
      end
    end
  end)

  it("writes binary ops with broadcasting, Lua numbers and alpha / rounding_mode", function()
    for _, name in ipairs({"add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder"}) do
      local x, y = a32:abs() + 0.5, b32:abs() + 0.5
      local out = tg.empty(3, 5)
      assert.is_true(rawequal(tg[name](x, y, {out = out}), out))
      same(out, tg[name](x, y))
      tg[name](x, 2, {out = out})
      same(out, tg[name](x, 2))
      local o64 = tg.empty(4, 3, {dtype = tg.float64})
      tg[name](a64:abs() + 1, b64:abs() + 1, {out = o64})
      same(o64, tg[name](a64:abs() + 1, b64:abs() + 1))
    end
    local out = tg.empty(3, 5)
    tg.add(a32, b32, {out = out, alpha = 2})
    same(out, tg.add(a32, b32, {alpha = 2}))
    tg.sub(3, a32, {out = out})
    same(out, 3 - a32)
    tg.div(a32 * 10, b32, {out = out, rounding_mode = "floor"})
    same(out, tg.div(a32 * 10, b32, {rounding_mode = "floor"}))
  end)

  it("follows PyTorch's casting: a wider float out, integer ops, comparisons into any dtype", function()
    local o64 = tg.empty(3, 5, {dtype = tg.float64})
    tg.add(a32, b32, {out = o64})
    same(o64, (a32 + b32):double())
    local i = tg.tensor({{1, 2}, {3, 4}})
    local oi = tg.empty(2, 2, {dtype = tg.int64})
    tg.mul(i, 3, {out = oi})
    assert.are.same({{3, 6}, {9, 12}}, oi:tolist())
    local of = tg.empty(2, 2)
    tg.add(i, i, {out = of}) -- Long into Float
    assert.are.same({{2, 4}, {6, 8}}, of:tolist())
    local ob = tg.empty(2, 2, {dtype = tg.bool})
    tg.gt(i, 2, {out = ob})
    assert.are.same({{false, false}, {true, true}}, ob:tolist())
    tg.gt(i, 2, {out = of}) -- Bool into Float: 1 and 0, as PyTorch
    assert.are.same({{0, 0}, {1, 1}}, of:tolist())
    tg.exp(i, {out = of}) -- exp of an integer tensor is float
    same(of, i:exp())
  end)

  it("works for matmul / mm / bmm and the other functional ops", function()
    local x, w = tg.randn(4, 6), tg.randn(6, 3)
    local out = tg.empty(4, 3)
    assert.is_true(rawequal(tg.matmul(x, w, {out = out}), out))
    same(out, tg.matmul(x, w), 1e-6)
    tg.mm(x, w, {out = out})
    same(out, tg.mm(x, w), 1e-6)
    tg.mm(x:t():contiguous():t(), w, {out = out}) -- a transposed operand
    same(out, tg.mm(x, w), 1e-5)
    local o3 = tg.empty(2, 4, 3)
    tg.matmul(tg.randn(2, 4, 6), w, {out = o3})
    local bx, by = tg.randn(2, 3, 4), tg.randn(2, 4, 5)
    local ob = tg.empty(2, 3, 5)
    tg.bmm(bx, by, {out = ob})
    same(ob, tg.bmm(bx, by), 1e-5)
    local s = tg.empty(5)
    assert.is_true(rawequal(tg.sum(a32, 1, {out = s}), s))
    same(s, a32:sum(1), 1e-6)
    local sk = tg.empty(1, 5)
    tg.sum(a32, 1, {keepdim = true, out = sk})
    same(sk, a32:sum(1, {keepdim = true}), 1e-6)
    local s0 = tg.empty(0)
    tg.mean(a32, {out = s0}) -- an empty out takes the result's shape (0-d here)
    same(s0, a32:mean(), 1e-6)
    local m = tg.empty(3)
    tg.amax(a32, 2, {out = m})
    same(m, a32:amax(2))
    local c = tg.empty(6, 5)
    tg.cat({a32, a32:neg()}, 1, {out = c})
    same(c, tg.cat({a32, a32:neg()}, 1))
    local st = tg.empty(2, 3, 5)
    tg.stack({a32, a32}, 1, {out = st})
    same(st, tg.stack({a32, a32}, 1))
    local cl = tg.empty(3, 5)
    tg.clamp(a32, -0.5, 0.5, {out = cl})
    same(cl, a32:clamp(-0.5, 0.5))
    local cs = tg.empty(3, 5)
    tg.cumsum(a32, 2, {out = cs})
    same(cs, a32:cumsum(2), 1e-6)
    local wh = tg.empty(3, 5)
    tg.where(a32:gt(0), a32, 0, {out = wh})
    same(wh, tg.where(a32:gt(0), a32, 0))
  end)

  it("resizes an empty out and refuses one with elements of another shape", function()
    local e = tg.empty(0)
    tg.add(a32, b32, {out = e})
    assert.are.same({3, 5}, e.shape)
    same(e, a32 + b32)
    errors("add(): the out tensor has shape [5], which does not match the required output shape [3, 5]",
      tg.add, a32, b32, {out = tg.empty(5)})
    errors("exp(): the out tensor has shape [5, 3]", tg.exp, a32, {out = tg.empty(5, 3)})
    errors("matmul(): the out tensor has shape [2, 2], which does not match the required output shape [3, 3]",
      tg.matmul, a32, a32:t(), {out = tg.empty(2, 2)})
    errors("sum(): the out tensor has shape [3], which does not match the required output shape [5]",
      tg.sum, a32, 1, {out = tg.empty(3)})
  end)

  it("refuses a dtype the result cannot be cast to, with PyTorch's text", function()
    errors("result type Float can't be cast to the desired output type Long", tg.add, a32, b32,
      {out = tg.empty(3, 5, {dtype = tg.int64})})
    errors("result type Float can't be cast to the desired output type Long", tg.exp, a32,
      {out = tg.empty(3, 5, {dtype = tg.int64})})
    errors("result type Long can't be cast to the desired output type Bool", tg.add, tg.tensor({1}), 1,
      {out = tg.empty(1, {dtype = tg.bool})})
    errors("result type Double can't be cast to the desired output type Long", tg.sum, a64, 1,
      {out = tg.empty(3, {dtype = tg.int64})})
    errors("result type Float can't be cast to the desired output type Long", tg.matmul, a32, a32:t(),
      {out = tg.empty(3, 3, {dtype = tg.int64})})
  end)

  it("refuses an out with overlapping elements and bad out arguments", function()
    errors("more than one element of the written-to tensor refers to a single memory location",
      tg.add, tg.ones(3), 1, {out = tg.zeros(1):expand(3)})
    errors("argument 'out' must be Tensor, not number", tg.add, a32, b32, {out = 3})
    errors("argument 'out' must be Tensor, not string", tg.sum, a32, {out = "x"})
    errors("exp() got an unexpected keyword argument 'outt'", tg.exp, a32, {outt = a32})
    local freed = tg.empty(3, 5)
    freed:free()
    errors("the tensor has been freed", tg.add, a32, b32, {out = freed})
  end)

  it("refuses autograd as PyTorch does, and works under no_grad", function()
    local w = tg.randn(3, 5, {requires_grad = true})
    local msg = "functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad."
    errors("add(): " .. msg, tg.add, w, b32, {out = tg.empty(3, 5)})
    errors("add(): " .. msg, tg.add, b32, w, {out = tg.empty(3, 5)})
    errors("exp(): " .. msg, tg.exp, w, {out = tg.empty(3, 5)})
    errors("sum(): " .. msg, tg.sum, w, 1, {out = tg.empty(5)})
    errors("matmul(): " .. msg, tg.matmul, w, w:t(), {out = tg.empty(3, 3)})
    errors("mm(): " .. msg, tg.mm, a32, w:t(), {out = tg.empty(3, 3)})
    errors("cat(): " .. msg, tg.cat, {a32, w}, 1, {out = tg.empty(6, 5)})
    errors("add(): " .. msg, tg.add, a32, b32, {out = tg.zeros(3, 5, {requires_grad = true})})
    local o = tg.empty(3, 5)
    tg.no_grad(function()
      tg.add(w, b32, {out = o})
      tg.matmul(w, w:t(), {out = tg.empty(3, 3)})
      tg.sum(w, 1, {out = tg.empty(5)})
    end)
    same(o, w.data + b32)
    assert.is_nil(o.grad_fn)
  end)

  it("may alias an input: out = a acts as the in-place op", function()
    local x = tg.randn(4, 5)
    local want = x + b32
    local r = tg.add(x, b32, {out = x})
    assert.is_true(rawequal(r, x))
    same(x, want)
    local y = tg.randn(6)
    local ey = y:exp()
    tg.exp(y, {out = y})
    same(y, ey)
    local z = tg.randn(5)
    tg.mul(b32, z, {out = z}) -- out is the second operand
    same(z, b32 * (z / b32), 1e-5)
  end)

  it("computes through a temporary when out overlaps an input in another way", function()
    local base = tg.arange(1.0, 7.0)
    local x = base:narrow(1, 1, 5)
    local out = base:narrow(1, 2, 5) -- shifted by one element: every write lands on a later read
    tg.add(x, 10, {out = out})
    assert.are.same({1, 11, 12, 13, 14, 15}, base:tolist())
    local m = tg.arange(1.0, 5.0):view(2, 2)
    local want = tg.mm(m, m)
    tg.mm(m, m, {out = m})
    same(m, want)
    local v = tg.arange(1.0, 5.0)
    tg.add(v, v:flip(1), {out = v})
    assert.are.same({5, 5, 5, 5}, v:tolist())
  end)

  it("writes non-contiguous outs and bumps out's version", function()
    local big = tg.zeros(5, 3)
    local out = big:t() -- 3 x 5, strided
    tg.add(a32, b32, {out = out})
    same(out, a32 + b32)
    local o = tg.empty(3, 5)
    local v0 = o:_version()
    tg.add(a32, b32, {out = o})
    assert.are.equal(v0 + 1, o:_version())
    tg.sum(a32, 1, {out = tg.empty(5)})
    local s = tg.empty(5)
    local sv = s:_version()
    tg.sum(a32, 1, {out = s})
    assert.is_true(s:_version() > sv)
  end)

  it("makes a saved tensor written through out fail backward with the version error", function()
    local w = tg.randn(3, {requires_grad = true})
    local x = tg.randn(3)
    local y = (w * x):sum() -- saves x
    tg.add(x, 1, {out = x})
    errors("modified by an inplace operation", function() y:backward() end)
  end)

  it("handles empty and 0-d tensors", function()
    local e = tg.empty(0, 3)
    assert.is_true(rawequal(tg.add(e, 1, {out = e}), e))
    local s = tg.tensor(2.0)
    local o = tg.empty({})
    tg.mul(s, 3, {out = o})
    assert.are.equal(6, o:item())
    local z = tg.empty(0)
    tg.exp(s, {out = z})
    assert.are.same({}, z.shape)
  end)

  it("leaves the forms without out untouched (methods, metamethods, options)", function()
    same(tg.sum(a32, 1), a32:sum(1))
    same(tg.add(a32, b32, {alpha = 3}), a32 + 3 * b32, 1e-6)
    errors("bad argument #1 to 'sum' (expected Tensor but got nil)", function() return tg.sum(nil) end)
    errors("sum() got an unexpected keyword argument 'outt'", tg.sum, a32, {outt = 1})
  end)
end)

describe("tg.scope", function()
  it("releases the temporaries made inside and keeps what is kept", function()
    local x = tg.randn(100)
    local kept, temp, view
    do
      local s <close> = tg.scope()
      temp = x * 2
      view = x:view(10, 10) -- a view of a tensor from outside: only the view's box goes
      kept = s:keep(temp + 1)
      assert.are.equal(1, tg.scope_depth())
    end
    assert.are.equal(0, tg.scope_depth())
    errors(FREED, function() return temp:sum() end)
    errors(FREED, function() return view + 1 end)
    errors(FREED, function() return tg.add(kept, temp) end)
    assert.are.equal(100, kept:numel())
    same(kept, x * 2 + 1)
    assert.are.equal(100, x:numel()) -- made outside: untouched
  end)

  it("returns memory at once", function()
    collectgarbage()
    local before = tg.memory_allocated()
    do
      local s <close> = tg.scope()
      local big = tg.zeros(1000000)
      local big2 = big + 1
      assert.is_true(tg.memory_allocated() >= before + 8000000)
    end
    assert.are.equal(before, tg.memory_allocated())
  end)

  it("tg.scope(fn, ...) keeps the returned tensors and passes arguments", function()
    local x = tg.randn(3)
    local inner
    local r1, r2, n = tg.scope(function(a, k)
      inner = a * k
      return inner + 1, a * 3, 42
    end, x, 2)
    assert.are.equal(42, n)
    same(r1, x * 2 + 1)
    same(r2, x * 3)
    errors(FREED, function() return inner:sum() end)
  end)

  it("closes on errors, with <close> and with tg.scope(fn)", function()
    local t
    local ok, err = pcall(function()
      local s <close> = tg.scope()
      t = tg.ones(3)
      error("boom")
    end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom"))
    assert.are.equal(0, tg.scope_depth())
    errors(FREED, function() return t:sum() end)
    ok, err = pcall(tg.scope, function()
      t = tg.ones(3)
      error({code = 7})
    end)
    assert.is_false(ok)
    assert.are.equal(7, err.code) -- the error value passes through as raised
    assert.are.equal(0, tg.scope_depth())
    errors(FREED, function() return t:sum() end)
  end)

  it("nests: kept tensors move to the enclosing scope", function()
    local outer_kept, inner_kept, inner_temp
    do
      local outer <close> = tg.scope()
      do
        local inner <close> = tg.scope()
        assert.are.equal(2, tg.scope_depth())
        inner_temp = tg.ones(2)
        inner_kept = inner:keep(tg.ones(2) * 5)
      end
      assert.are.equal(1, tg.scope_depth())
      errors(FREED, function() return inner_temp:sum() end)
      assert.are.equal(10, inner_kept:sum():item()) -- alive in the outer scope
      outer_kept = outer:keep(inner_kept * 2)
    end
    errors(FREED, function() return inner_kept:sum() end) -- the outer scope released it
    assert.are.equal(20, outer_kept:sum():item())
    local r = tg.scope(function()
      return tg.scope(function() return tg.ones(2) end) * 3 -- returned twice: kept twice
    end)
    assert.are.same({3, 3}, r:tolist())
  end)

  it("closing an outer scope closes the ones opened inside it; closing twice is harmless", function()
    local outer = tg.scope()
    local inner = tg.scope()
    local t = tg.ones(2)
    outer:close()
    assert.are.equal(0, tg.scope_depth())
    errors(FREED, function() return t:sum() end)
    inner:close()
    outer:close()
    assert.are.equal(0, tg.scope_depth())
    assert.truthy(tostring(outer):find("closed"))
  end)

  it("never releases parameters, and a released tensor a graph saved stays valid for backward", function()
    local w, loss, p
    do
      local s <close> = tg.scope()
      p = tg.randn(4, {requires_grad = true}) -- a leaf that requires grad: a parameter
      w = tg.randn(4, {requires_grad = true})
      local h = (w * 3):sigmoid() -- saved by the graph (its output), released as a box
      loss = s:keep((h * h):sum())
    end
    assert.are.equal(4, p:numel())
    loss:backward()
    local sg = (w.data * 3):sigmoid()
    same(w.grad, sg * (1 - sg) * 3 * 2 * sg, 1e-6)
  end)

  it("a .grad read inside a scope is only a box: the gradient itself stays", function()
    local w = tg.randn(3, {requires_grad = true});
    (w * 2):sum():backward()
    local g
    do
      local s <close> = tg.scope()
      g = w.grad
      w.grad = tg.zeros(3) + 7 -- assigned inside: held by w, its box is released
      assert.are.equal(21, w.grad:sum():item())
    end
    errors(FREED, function() return g:sum() end)
    assert.are.same({7, 7, 7}, w.grad:tolist())
    tg.scope(function()
      local loss = (w * w):sum()
      loss:backward()
    end)
    same(w.grad, w.data * 2 + 7, 1e-6)
  end)

  it("a training step inside tg.scope leaves only the parameters and returns memory", function()
    local nn = tg.nn
    local model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    local opt = tg.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
    local x, y = tg.randn(32, 8), tg.randn(32, 2)
    local function step()
      opt:zero_grad()
      local loss = tg.nn.functional.mse_loss(model(x), y)
      loss:backward()
      opt:step()
      return loss:item()
    end
    step() -- the first step, outside: the optimizer's momentum buffers are made (a scope would release them)
    collectgarbage()
    local base = tg.memory_allocated()
    local losses = {}
    for i = 1, 20 do losses[i] = tg.scope(step) end
    assert.is_true(losses[20] < losses[1])
    assert.is_true(tg.memory_allocated() <= base, "scoped steps hold no memory")
  end)

  it("keep checks its arguments", function()
    local s <close> = tg.scope()
    errors("bad argument #1 to 'keep' (expected Tensor but got number)", function() s:keep(3) end)
    local a, b = tg.ones(1), tg.ones(2)
    local r1, r2 = s:keep(a, b)
    assert.is_true(rawequal(r1, a) and rawequal(r2, b))
  end)
end)

describe("the collector sees all tensor memory", function()
  local threads
  before_each(function() threads = tg.get_num_threads(); tg.set_num_threads(1) end)
  after_each(function() tg.set_num_threads(threads) end)

  it("10,000 allocating iterations (1e5-element ops and a tiny MLP step) stay bounded without collectgarbage()", function()
    collectgarbage()
    local nn = tg.nn
    local model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))
    local opt = tg.optim.SGD(model:parameters(), {lr = 0.01})
    local x, y = tg.randn(16, 4), tg.randn(16, 2)
    local a, b = tg.randn(100000), tg.randn(100000)
    local base = tg.memory_allocated()
    local peak = 0
    for i = 1, 10000 do
      local c = a + b
      local d = c:exp() -- two 400 KB results alive across ops: they grow old in a generational collector
      if i % 4 == 0 then
        opt:zero_grad()
        local loss = tg.nn.functional.mse_loss(model(x), y)
        loss:backward()
        opt:step()
      end
      local m = tg.memory_allocated()
      if m > peak then peak = m end
    end
    -- unbounded growth would hold 10,000 x 1.2 MB here; the bound is the policy's
    -- 64 MiB of slack plus the Lua heap, whichever mode the collector runs in
    local heap = collectgarbage("count") * 1024
    assert.is_true(peak - base < 64 * 2^20 + heap + 16 * 2^20, ("peak %.1f MB over the base"):format((peak - base) / 2^20))
  end)

  it("holds for a generational and for an incremental collector", function()
    local prev = collectgarbage("incremental")
    local ok, err = pcall(function()
      for _, mode in ipairs({"incremental", "generational"}) do
        collectgarbage(mode)
        collectgarbage()
        local base, peak = tg.memory_allocated(), 0
        local a = tg.randn(250000)
        for _ = 1, 2000 do
          local c = a + 1 -- 1 MB each
          local m = tg.memory_allocated()
          if m > peak then peak = m end
        end
        assert.is_true(peak - base < 100 * 2^20, mode .. (": peak %.1f MB"):format((peak - base) / 2^20))
      end
    end)
    collectgarbage(prev)
    assert(ok, err)
  end)
end)
