-- tiny_fast_spec.lua: the fast paths of the tiny-policy training step (issue 11,
-- helper tiny) give the same bits and the same semantics as the general paths:
--   * F.linear's 2-D case as one C call (tg._nn_linear) vs addmm(b, x, w:t()) / mm
--   * SGD without momentum as one C call per group (tg._optim.sgd_list) vs the
--     per-parameter fused step (tg._optim.sgd)
--   * a Linear weight's gradient computed in the weight's layout and stolen into
--     .grad (no copy), an AccumulateGrad that steals view gradients only it sees
--   * Module calls, Sequential and tg._entry without tables per call (varargs,
--     nils and counts kept), the shared no_grad / enable_grad guards
local tg = require "tgrad"
local nn, F = tg.nn, tg.nn.functional

local same = require("support.helpers").assert_same_bits

local function names(fn)
  local out = {}
  for _, e in ipairs(fn.next_functions) do out[#out + 1] = e[1] and e[1].name or "None" end
  return out
end

describe("F.linear fast path", function()
  -- the reference: what the Lua path runs for a 2-D input
  local function ref(x, w, b)
    if b ~= nil then return tg.addmm(b, x, w:t()) end
    return tg.mm(x, w:t())
  end

  local function check(x, w, b)
    local leaves = {x, w, b}
    local y = F.linear(x, w, b)
    local r = ref(x, w, b)
    same(y, r)
    if not y.requires_grad then return end
    assert.are.equal(r.grad_fn.name, y.grad_fn.name)
    assert.are.same(names(r.grad_fn), names(y.grad_fn))
    local g = tg.randn(table.unpack(y.shape)):to(y.dtype)
    local grads_ref = {}
    for i, t in pairs(leaves) do if t.requires_grad then t.grad = nil end end
    r:backward(g)
    for i, t in pairs(leaves) do if t.requires_grad then grads_ref[i] = t.grad:clone(); t.grad = nil end end
    y:backward(g)
    for i, t in pairs(leaves) do if t.requires_grad then same(t.grad, grads_ref[i]) end end
  end

  it("gives addmm's bits, graph and gradients (float32, float64, with and without bias, odd sizes)", function()
    tg.manual_seed(1)
    for _, dt in ipairs({tg.float32, tg.float64}) do
      for _, sz in ipairs({{1, 4, 32}, {3, 5, 7}, {64, 33, 2}, {1, 1, 1}}) do
        local n, i, o = sz[1], sz[2], sz[3]
        local x = tg.randn(n, i, {dtype = dt, requires_grad = true})
        local w = tg.randn(o, i, {dtype = dt, requires_grad = true})
        local b = tg.randn(o, {dtype = dt, requires_grad = true})
        check(x, w, b)
        check(x, w, nil)
        check(x:detach(), w, b)
      end
    end
  end)

  it("takes non-contiguous inputs and weights", function()
    tg.manual_seed(2)
    local x = tg.randn(6, 5):t():requires_grad_()       -- 5 x 6, transposed
    local w = tg.randn(6, 7):t():requires_grad_()       -- 7 x 6, transposed: w:t() is contiguous
    local b = tg.randn(14):narrow(1, 1, 7):requires_grad_()
    assert.is_false(x:is_contiguous())
    check(x, w, b)
    local ws = tg.randn(7, 12):narrow(2, 4, 6):requires_grad_() -- rows of stride 12, an offset
    check(x, ws, b)
  end)

  it("leaves other shapes, mixed dtypes and bad arguments to the Lua path (its results and messages)", function()
    tg.manual_seed(3)
    local w, b = tg.randn(3, 4), tg.randn(3)
    local x1 = tg.randn(4)
    same(F.linear(x1, w, b), tg.addmm(b, x1:view(1, 4), w:t()):view(3))
    local x3 = tg.randn(2, 5, 4)
    same(F.linear(x3, w, b), (x3:reshape(10, 4):matmul(w:t()) + b):reshape(2, 5, 3))
    assert.has_error(function() F.linear(tg.randn(2, 4, {dtype = tg.float64}), w, b) end)
    assert.has_error(function() F.linear(tg.randn(2, 5), w, b) end,
      "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)")
    local ok, e = pcall(F.linear, "x", w, b)
    assert.is_false(ok)
    assert.truthy(e:find("linear(): argument 'input' must be Tensor, not string", 1, true))
    -- a bias of another width broadcasts as addmm does, or raises its message
    same(F.linear(tg.ones(2, 4), w, tg.ones(1)), tg.addmm(tg.ones(1), tg.ones(2, 4), w:t()))
  end)

  it("raises the Lua path's messages", function()
    local ok, e = pcall(function() return F.linear(tg.randn(2, 5), tg.randn(3, 4)) end)
    assert.is_false(ok)
    assert.truthy(e:find("mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)", 1, true), e)
    ok, e = pcall(function() return F.linear(tg.randn(5), tg.randn(3, 4)) end)
    assert.is_false(ok)
    assert.truthy(e:find("mat1 and mat2 shapes cannot be multiplied (1x5 and 4x3)", 1, true), e)
  end)

  it("keeps tensor hooks and module hooks of a Linear", function()
    tg.manual_seed(4)
    local lin = nn.Linear(4, 3)
    local seen, pre, post, bw = 0, 0, 0, 0
    lin.weight:register_hook(function(g) seen = seen + 1; return g * 2 end)
    lin:register_forward_pre_hook(function() pre = pre + 1 end)
    lin:register_forward_hook(function(_, _, out) post = post + 1; return out * 1 end)
    lin:register_full_backward_hook(function() bw = bw + 1 end)
    local x = tg.randn(2, 4, {requires_grad = true})
    local y = lin(x)
    y:sum():backward()
    assert.are.same({1, 1, 1, 1}, {seen, pre, post, bw})
    local expect = (tg.ones(2, 3):t():matmul(x:detach())) * 2
    same(lin.weight.grad, expect)
  end)
end)

describe("Linear weight gradients", function()
  it("are contiguous, not views, accumulate, and match x^T g transposed bit for bit", function()
    tg.manual_seed(5)
    for _, n in ipairs({1, 3, 64}) do
      local lin = nn.Linear(9, 5)
      local x = tg.randn(n, 9)
      local g = tg.randn(n, 5)
      lin(x):backward(g)
      local gw = lin.weight.grad
      assert.is_true(gw:is_contiguous())
      assert.are.same({5, 9}, gw.shape)
      same(gw, x:t():matmul(g):t():contiguous())
      same(lin.bias.grad, g:sum(1))
      local first = gw:clone()
      lin(x):backward(g) -- accumulates into the stolen buffer
      same(lin.weight.grad, first + first)
      assert.are.equal(gw, lin.weight.grad) -- the same box: accumulated in place
    end
  end)

  it("stays a separate buffer from everything else of the graph (retain_graph, autograd.grad)", function()
    tg.manual_seed(6)
    local w = tg.randn(4, 3, {requires_grad = true})
    local x = tg.randn(2, 3)
    local y = F.linear(x, w)
    local g = tg.randn(2, 4)
    local gw = tg.autograd.grad({y}, {w}, {g}, {retain_graph = true})[1]
    y:backward(g)
    same(w.grad, gw)
    w.grad:zero_()
    same(gw, x:t():matmul(g):t():contiguous()) -- the grad() result is not the zeroed .grad
  end)

  it("double backward through linear still works (grad mode on in backward: the general path)", function()
    local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
    local w = tg.randn(2, 4, {dtype = tg.float64, requires_grad = true})
    local b = tg.randn(2, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(a, c, d) return F.linear(a, c, d) end, {x, w, b}))
    assert.is_true(tg.autograd.gradgradcheck(function(a, c, d) return F.linear(a, c, d) end, {x, w, b}))
  end)
end)

describe("SGD without momentum in one call per group", function()
  local function params()
    tg.manual_seed(7)
    local ps = {
      tg.randn(4, 3, {requires_grad = true}),
      tg.randn(5, {dtype = tg.float64, requires_grad = true}),    -- mixed dtypes in one group
      tg.randn(6, 4):t():requires_grad_(),                         -- non-contiguous
      tg.randn(2, {requires_grad = true}),                         -- no gradient: skipped
    }
    for i = 1, 3 do ps[i].grad = tg.randn(table.unpack(ps[i].shape)):to(ps[i].dtype) end
    return ps
  end

  for _, o in ipairs({{lr = 0.1}, {lr = 0.05, weight_decay = 0.01}, {lr = 0.2, maximize = true},
                      {lr = 0.3, weight_decay = 0.1, maximize = true}}) do
    it(("gives the per-parameter step's bits (%s)"):format(tg.optim.SGD._pyfmt and "" or ""
        .. (o.weight_decay and "wd " or "") .. (o.maximize and "maximize" or "")), function()
      local a, b = params(), params()
      local before = b[4]:clone()
      local opt = tg.optim.SGD(a, o)
      opt:step()
      tg.no_grad(function()
        for _, p in ipairs(b) do
          tg._optim.sgd(p, nil, o.lr, o.weight_decay or 0, 0, 0, false, o.maximize or false, false)
        end
      end)
      for i = 1, #a do same(a[i], b[i]) end
      same(a[4], before)
      assert.is_nil(a[4].grad)
    end)
  end

  it("keeps the momentum path (state made on the first step) and the param groups' own options", function()
    local a = params()
    local opt = tg.optim.SGD({{params = {a[1], a[2]}}, {params = {a[3]}, momentum = 0.9}}, {lr = 0.1})
    opt:step()
    assert.is_nil(opt.state[a[1]])
    assert.is_not_nil(opt.state[a[3]].momentum_buffer)
  end)

  it("steps parameters swapped through .data and skips those whose grad was set to nil", function()
    local lin = nn.Linear(3, 2)
    local opt = tg.optim.SGD(lin:parameters(), {lr = 1})
    lin(tg.ones(1, 3)):sum():backward()
    lin.weight.data = tg.zeros(2, 3)
    lin.bias.grad = nil
    local b0 = lin.bias:clone()
    opt:step()
    same(lin.weight, tg.zeros(2, 3) - lin.weight.grad)
    same(lin.bias, b0)
  end)
end)

describe("Module calls and Sequential without tables", function()
  it("pass several values, nils and counts through Sequential and the hooks", function()
    local Pair = nn.Module:extend("Pair")
    function Pair:forward(a, b, c) return a, b, c end
    local seen
    local last = nn.Module:extend("Last")()
    function last:forward(...) seen = select("#", ...); return ... end
    local s = nn.Sequential(Pair(), last)
    local x = tg.ones(1)
    local a, b, c = s(x, nil, 3)
    assert.are.equal(x, a)
    assert.is_nil(b)
    assert.are.equal(3, c)
    assert.are.equal(3, seen)
    local n
    last:register_forward_pre_hook(function(_, args) n = args.n end)
    s(x, nil)
    assert.are.equal(3, n) -- Pair returns three values (the last nil)
    assert.are.same({}, {nn.Sequential()()})
  end)

  it("finds parameters, buffers, submodules and methods as before, and numbers through __getitem", function()
    local s = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert.is_true(tg.is_tensor(s[1].weight))
    assert.are.equal("ReLU", s[2]:_get_name())
    assert.are.equal("ReLU", s[-1]:_get_name())
    local m = nn.Module()
    m.plain = 5
    assert.are.equal(5, m.plain)
    assert.is_nil(m.missing)
    assert.is_nil(m._parameters_not)
    assert.are.equal("function", type(m.forward))
  end)

  it("raises a forward's errors through Sequential", function()
    local Bad = nn.Module:extend("Bad")
    function Bad:forward() error("bad forward") end
    local s = nn.Sequential(nn.Identity(), Bad())
    local ok, e = pcall(function() return s(tg.ones(1)) end)
    assert.is_false(ok)
    assert.truthy(e:find("bad forward", 1, true))
    local ok2, e2 = pcall(function() return nn.Linear(3, 2)(tg.ones(1, 4)) end)
    assert.is_false(ok2)
    assert.truthy(e2:find("mat1 and mat2 shapes cannot be multiplied (1x4 and 3x2)", 1, true), e2)
  end)

  it("keeps tg._entry's results, counts and error positions", function()
    local f = tg._entry(function(...) return ... end)
    assert.are.equal(4, select("#", f(1, nil, nil, nil)))
    assert.are.equal(0, select("#", f()))
    local line = debug.getinfo(1, "l").currentline + 1
    local g = tg._entry(function() error("inside") end)
    local ok, e = pcall(function() g() end)
    assert.is_false(ok)
    assert.truthy(e:find("tiny_fast_spec.lua:" .. line .. ": inside", 1, true), e)
  end)
end)

describe("grad mode guards", function()
  it("restore the mode they found, nested and after errors", function()
    assert.is_true(tg.is_grad_enabled())
    do
      local g1 <close> = tg.no_grad()
      assert.is_false(tg.is_grad_enabled())
      do
        local g2 <close> = tg.enable_grad()
        assert.is_true(tg.is_grad_enabled())
        do
          local g3 <close> = tg.no_grad()
          assert.is_false(tg.is_grad_enabled())
        end
        assert.is_true(tg.is_grad_enabled())
      end
      assert.is_false(tg.is_grad_enabled())
    end
    assert.is_true(tg.is_grad_enabled())
    pcall(function()
      local g <close> = tg.no_grad()
      error("x")
    end)
    assert.is_true(tg.is_grad_enabled())
    do
      local g <close> = tg.set_grad_enabled(false)
      assert.is_false(tg.is_grad_enabled())
    end
    assert.is_true(tg.is_grad_enabled())
  end)
end)
