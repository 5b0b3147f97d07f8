-- autograd_edge_spec.lua: the autograd edge cases of issue 9, each as PyTorch
-- behaves (its texts): in-place writes to saved outputs, views made in no_grad
-- mode or by custom Functions, mark_dirty's rules, grad() over partly run
-- graphs, what mul saves, requires_grad_/detach_/.data/.grad on odd tensors,
-- retain_grad across regenerated views, 0^b, the functional API under no_grad,
-- deep reentrant backward and callable hooks.
local tg = require "tgrad"
local helpers = require "support.helpers"
local assert_close = helpers.assert_close
local errors = helpers.errors
local d64 = helpers.d64

local SAVED_MSG = "one of the variables needed for gradient computation has been modified by an inplace operation"

describe("in-place writes to a tensor its own grad_fn saved as an output", function()
  for _, op in ipairs{"sigmoid", "exp", "tanh"} do
    it(op .. " then mul_ refuses at backward, naming " .. op .. "'s node", function()
      local a = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
      local c = (a * 1)[op](a * 1)
      local name = c.grad_fn.name
      c:mul_(2)
      local ok, err = pcall(function() c:sum():backward() end)
      assert.is_false(ok)
      assert.matches(SAVED_MSG .. ": [torch.FloatTensor [3]], which is output 0 of " .. name ..
                     ", is at version 1; expected version 0 instead. Hint:", err, 1, true)
    end)
  end

  it("exp of a leaf then add_ refuses, naming ExpBackward0 (not the AddBackward0 of the write)", function()
    local a = d64({0.5, 1.5})
    local c = a:exp()
    c:add_(1)
    local ok, err = pcall(function() c:sum():backward() end)
    assert.is_false(ok)
    assert.matches("[torch.DoubleTensor [2]], which is output 0 of ExpBackward0, is at version 1", err, 1, true)
  end)

  it("under anomaly mode the hint is PyTorch's other one", function()
    local a = d64({0.5, 1.5})
    local c = a:exp()
    c:add_(1)
    local ok, err = pcall(function() tg.autograd.detect_anomaly(function() c:sum():backward() end) end)
    assert.is_false(ok)
    assert.matches("which is output 0 of ExpBackward0, is at version 1; expected version 0 instead. Hint: the " ..
                   "backtrace further above shows the operation that failed to compute its gradient.", err, 1, true)
  end)

  it("the same write inside no_grad is refused too (the version counter moved)", function()
    local a = d64({0.5, 1.5})
    local c = (a * 1):sigmoid()
    tg.no_grad(function() c:mul_(2) end)
    errors(SAVED_MSG, function() c:sum():backward() end)
  end)

  it("a write before the op that saves is fine, and the gradient is right", function()
    local a = d64({0.5, 1.5})
    local c = a * 1
    c:mul_(2)
    local s = c:sigmoid()
    s:sum():backward()
    local v = tg.sigmoid(a:detach() * 2)
    assert_close(a.grad, (v * (1 - v) * 2))
  end)
end)

describe("views made in no_grad mode, or by a custom Function, written in place", function()
  local NOGRAD = "A view was created in no_grad mode and is being modified inplace with grad mode enabled. " ..
                 "Given that this use case is ambiguous and error-prone, it is forbidden."
  it("refuses the write with grad mode on (the issue's example)", function()
    local leaf = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
    local x = leaf:clone()
    local v = tg.no_grad(function() return x:narrow(1, 1, 2) end)
    errors(NOGRAD, function() v:mul_(5) end)
    assert_close(x, {1, 2, 3}) -- refused before writing
  end)

  it("refuses when only the other operand requires grad", function()
    local x = tg.tensor({1.0, 2.0, 3.0})
    local v = tg.no_grad(function() return x:narrow(1, 1, 2) end)
    errors(NOGRAD, function() v:mul_(tg.ones(2, {requires_grad = true})) end)
  end)

  it("accepts the write inside no_grad, or when nothing requires grad", function()
    local leaf = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
    local x = leaf:clone()
    local v = tg.no_grad(function() return x:narrow(1, 1, 2) end)
    tg.no_grad(function() v:mul_(5) end)
    assert_close(x, {5, 10, 3})
    local y = tg.tensor({1.0, 2.0})
    local w = tg.no_grad(function() return y:narrow(1, 1, 1) end)
    w:add_(1)
    assert_close(y, {2, 2})
  end)

  it("a view of such a view is one too", function()
    local x = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true}):clone()
    local v = tg.no_grad(function() return x:narrow(1, 1, 2) end)
    local w = v:narrow(1, 1, 1)
    errors(NOGRAD, function() w:add_(1) end)
  end)

  it("prints grad_fn=<Invalid> once its base was written in place with grad mode on", function()
    local leaf = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
    local x = leaf:clone()
    local v = tg.no_grad(function() return x:narrow(1, 1, 2) end)
    x:mul_(2)
    assert.are.equal("tensor([2., 4.], grad_fn=<Invalid>)", tostring(v))
    errors("A view was created in no_grad mode and its base or another view of its base has been modified inplace",
           function() return v.grad_fn end)
  end)

  it("a view returned by a custom Function refuses in-place writes", function()
    local F = tg.autograd.Function{
      name = "F",
      forward = function(_, x) return x:narrow(1, 1, 2) end,
      backward = function(_, g) return tg.cat({g, tg.zeros(1)}) end,
    }
    local x = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true}):clone()
    local v = F(x)
    errors("Output 0 of FBackward is a view and is being modified inplace. This view was created inside a custom " ..
           "Function (or because an input was returned as-is)", function() v:mul_(2) end)
    -- its own backward is the custom one
    v:sum():backward()
  end)

  it("an input returned as-is is such a view too", function()
    local Id = tg.autograd.Function{
      forward = function(_, x) return x end,
      backward = function(_, g) return g * 2 end,
    }
    local x = tg.tensor({1.0, 2.0}, {requires_grad = true}):clone()
    local y = Id(x)
    errors("is a view and is being modified inplace", function() y:add_(1) end)
  end)
end)

describe("mark_dirty's rules", function()
  it("a dirty view input with several outputs is refused", function()
    local D = tg.autograd.Function{
      forward = function(ctx, x, y) ctx:mark_dirty(x); x:mul_(2); return x, y * 1 end,
      backward = function(_, g, h) return g * 2, h end,
    }
    local b = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true}):clone()
    local v = b:narrow(1, 1, 2)
    errors("If your Function modifies inplace an input that is a view of another Tensor, your Function cannot " ..
           "return more than one Tensor.", function() D(v, tg.ones(2, {requires_grad = true})) end)
  end)

  it("a dirty view input with one output is fine (CopySlices on its base)", function()
    local D = tg.autograd.Function{
      forward = function(ctx, x) ctx:mark_dirty(x); x:mul_(2); return x end,
      backward = function(_, g) return g * 2 end,
    }
    local leaf = d64({1, 2, 3})
    local b = leaf:clone()
    D(b:narrow(1, 1, 2))
    assert_close(b, {2, 4, 3})
    b:sum():backward()
    assert_close(leaf.grad, {2, 2, 1})
  end)

  it("a dirty tensor that is not returned is refused", function()
    local E = tg.autograd.Function{
      forward = function(ctx, x, y) ctx:mark_dirty(x); x:mul_(2); return y * 1 end,
      backward = function(_, g) return nil, g end,
    }
    local b = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true}):clone()
    errors("Some elements marked as dirty during the forward method were not returned as output. The inputs that " ..
           "are modified inplace must all be outputs of the Function.",
           function() E(b, tg.ones(3, {requires_grad = true})) end)
  end)
end)

describe("grad() and what the graph keeps", function()
  it("a second grad() over a graph whose other branch never ran", function()
    local x, y = d64({1, 2}), d64({3, 4})
    local a, b = x:exp(), y:sin()
    local s = (a + b):sum()
    local gx = tg.autograd.grad(s, x)[1]
    assert_close(gx, x:detach():exp())
    -- y's branch did not run: its saved tensors are still there
    local gy = tg.autograd.grad(b:sum(), y)[1]
    assert_close(gy, y:detach():cos())
    -- x's branch ran without retain_graph: freed
    errors("Trying to backward through the graph a second time", function() tg.autograd.grad(a:sum(), x) end)
  end)

  it("x * ft with ft not requiring grad does not save x (test_no_unnecessary_save)", function()
    local mu = tg.ones(1, {requires_grad = true})
    local x = tg.empty(1)
    local loss = 0
    for i = 0, 2 do
      x:detach_()
      x:copy_(mu + i)
      local ft = tg.tensor({i + 0.0})
      loss = loss + (x * ft):sum()
    end
    loss:backward()
    assert_close(mu.grad, {3})
  end)

  it("division by a constant saves only the constant; pow still saves both", function()
    local w = d64({1, 2})
    local x = w * 1
    local y = x / tg.tensor({2.0, 4.0}, {dtype = tg.float64})
    x:add_(1)
    y:sum():backward()
    assert_close(w.grad, {0.5, 0.25})
    local w2 = d64({1, 2})
    local x2 = w2 * 1
    local y2 = x2 ^ 2
    x2:add_(1)
    errors(SAVED_MSG, function() y2:sum():backward() end)
  end)
end)

describe("requires_grad_, detach_, .data and .grad on odd tensors", function()
  local LEAF_ONLY = "you can only change requires_grad flags of leaf variables. If you want to use a computed " ..
                    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
  it("requires_grad_() and requires_grad_(true) on a non-leaf are accepted; false is refused", function()
    local a = tg.tensor({1.0}, {requires_grad = true})
    local b = a * 2
    assert.are.equal(b, b:requires_grad_())
    assert.are.equal(b, b:requires_grad_(true))
    assert.is_true(b.requires_grad)
    b.requires_grad = true
    errors(LEAF_ONLY, function() b:requires_grad_(false) end)
    errors(LEAF_ONLY, function() b.requires_grad = false end)
  end)

  it("detach_() on a view is refused with PyTorch's text", function()
    local msg = "Can't detach views in-place. Use detach() instead."
    local a = tg.tensor({1.0, 2.0}, {requires_grad = true})
    local v = (a * 2):narrow(1, 1, 1)
    errors(msg, function() v:detach_() end)
    local plain = tg.tensor({1.0, 2.0})
    errors(msg, function() plain:narrow(1, 1, 1):detach_() end)
    errors(msg, function() tg.no_grad(function() return plain:narrow(1, 1, 1) end):detach_() end)
    local d = (a * 2):detach()
    d:detach_() -- a detached tensor is no view
  end)

  it("x.data = y keeps x's version counter (and y keeps its own)", function()
    local x = tg.tensor({1.0, 2.0})
    x:add_(1)
    local y = tg.tensor({3.0, 4.0})
    y:add_(1); y:add_(1)
    x.data = y
    assert.are.equal(1, x:_version())
    assert.are.equal(2, y:_version())
    x:add_(1) -- the memory is shared
    assert_close(y, {6, 7})
    assert.are.equal(2, x:_version())
    assert.are.equal(2, y:_version())
    -- overlapping copies between the two are still seen as overlapping (same memory)
    local a = tg.tensor({1.0, 2.0, 3.0, 4.0})
    local b = tg.zeros(4)
    b.data = a
    b:narrow(1, 2, 3):copy_(a:narrow(1, 1, 3))
    assert_close(a, {1, 1, 2, 3})
    b:copy_(a:flip(1))
    assert_close(a, {3, 2, 1, 1})
  end)

  it("x.grad = x is refused", function()
    local x = tg.tensor({1.0, 2.0}, {requires_grad = true})
    errors("can't assign Variable as its own grad", function() x.grad = x end)
  end)

  it("retain_grad() on a view survives the regeneration of its grad_fn", function()
    local a = d64({1, 2})
    local b = a * 2
    local v = b:narrow(1, 1, 1)
    v:retain_grad()
    b:mul_(2) -- v's grad_fn is regenerated from b's new history
    v:sum():backward()
    assert_close(v.grad, {1})
    assert_close(a.grad, {4, 0})
    local a2 = d64({1, 2})
    local v2 = (a2 * 2):narrow(1, 1, 1)
    v2:retain_grad()
    v2:mul_(3) -- rebased through CopySlices
    v2:sum():backward()
    assert_close(v2.grad, {1})
    assert_close(a2.grad, {6, 0})
  end)

  it("d(0^b)/db is -inf where b < 0 and 0 where b >= 0 (PyTorch's numbers)", function()
    local b = d64({-1, 0, 1, 2, -2.5})
    tg.pow(tg.zeros(5, {dtype = tg.float64}), b):sum():backward()
    assert.are.same({-math.huge, 0, 0, 0, -math.huge}, b.grad:tolist())
    local b2 = d64({-1, 0, 1})
    tg.pow(tg.tensor(0.0, {dtype = tg.float64}), b2):sum():backward()
    assert.are.same({-math.huge, 0, 0}, b2.grad:tolist())
    -- a nonzero base is unchanged: 2^b log 2
    local b3 = d64({-1, 0.5})
    tg.pow(tg.full({2}, 2, {dtype = tg.float64}), b3):sum():backward()
    assert_close(b3.grad, {0.5 * math.log(2), 2 ^ 0.5 * math.log(2)})
  end)
end)

describe("autograd.functional under no_grad", function()
  local F = tg.autograd.functional
  local function cube(x) return (x * x * x):sum() end
  it("vjp, jvp, jacobian, hessian, vhp, hvp enable grad inside", function()
    local x = d64({1, 2}, false)
    tg.no_grad(function()
      local out, g = F.vjp(cube, x, tg.tensor(1.0, {dtype = tg.float64}))
      assert_close(out, 9)
      assert_close(g, {3, 12})
      local _, jv = F.jvp(function(t) return t * t end, x, tg.ones(2, {dtype = tg.float64}))
      assert_close(jv, {2, 4})
      assert_close(F.jacobian(function(t) return t * t end, x), {{2, 0}, {0, 4}})
      assert_close(F.hessian(cube, x), {{6, 0}, {0, 12}})
      local _, hv = F.hvp(cube, x, tg.ones(2, {dtype = tg.float64}))
      assert_close(hv, {6, 12})
      local _, vh = F.vhp(cube, x, tg.ones(2, {dtype = tg.float64}))
      assert_close(vh, {6, 12})
      assert.is_false(tg.is_grad_enabled())
    end)
  end)

  it("v may be left out for one-element inputs (and outputs, for vjp)", function()
    local x = d64({3}, false)
    local _, g = F.vjp(cube, x)
    assert_close(g, {27})
    local _, jv = F.jvp(function(t) return t * t end, x)
    assert_close(jv, {6})
    local _, hv = F.hvp(cube, x)
    assert_close(hv, {18})
    local _, vh = F.vhp(cube, x)
    assert_close(vh, {18})
    errors("The vector v can only be nil if the input to the user-provided function is a single Tensor with a " ..
           "single element.", function() F.hvp(cube, d64({1, 2}, false)) end)
  end)
end)

describe("reentrant backward", function()
  -- test_deep_reentrant: each level's backward runs backward on a new graph
  local Deep
  Deep = tg.autograd.Function{
    name = "DeepReentrant",
    forward = function(ctx, x)
      ctx.x = tg.enable_grad(function() return x:detach():requires_grad_(true) - 1 end)
      return ctx.x:detach()
    end,
    backward = function(ctx, g)
      if ctx.x:item() < 0 then return g end
      tg.enable_grad(function() Deep(ctx.x):sum():backward() end)
      return g
    end,
  }

  it("goes 2000 levels deep, as PyTorch's test_deep_reentrant", function()
    local v = tg.tensor(2000.0, {requires_grad = true})
    Deep(v):sum():backward()
    assert_close(v.grad, 1)
    local v2 = tg.tensor(200.0, {requires_grad = true}) -- and again, reusing what the first left
    Deep(v2):sum():backward()
    assert_close(v2.grad, 1)
  end)

  it("goes on past the C stack (helper threads with fresh stacks), then a Lua error, never a crash", function()
    local v = tg.tensor(6000.0, {requires_grad = true})
    Deep(v):sum():backward()
    assert_close(v.grad, 1)
    v = tg.tensor(100000.0, {requires_grad = true})
    local ok, err = pcall(function() Deep(v):sum():backward() end)
    assert.is_false(ok)
    assert.matches("reentrant backward nested %d+ levels deep: the C stack is nearly full", tostring(err))
    local w = tg.tensor({1.0}, {requires_grad = true})
    local s = (w * 3):sum()
    s:backward()
    assert_close(w.grad, {3})
  end)

  it("through tensor hooks too: a hook's backward nested 1000 deep", function()
    local function level(d)
      local x = tg.ones(1, {requires_grad = true})
      local y = x * 2
      y:register_hook(function(g)
        if d > 0 then tg.enable_grad(function() level(d - 1) end) end
        return g
      end)
      y:sum():backward()
      return x.grad
    end
    assert_close(level(1000), {2})
  end)

  it("a reentrant backward's error propagates to the outer backward", function()
    local Bad = tg.autograd.Function{
      forward = function(_, x) return x * 1 end,
      backward = function(_, g)
        tg.enable_grad(function()
          local t = tg.ones(1, {requires_grad = true})
          local F2 = tg.autograd.Function{forward = function(_, y) return y * 1 end,
                                          backward = function() error("inner failure") end}
          F2(t):sum():backward()
        end)
        return g
      end,
    }
    local x = tg.ones(1, {requires_grad = true})
    errors("inner failure", function() Bad(x):sum():backward() end)
  end)
end)

describe("callable tables as hooks", function()
  local function callable(f) return setmetatable({}, {__call = function(_, ...) return f(...) end}) end
  it("tensor hooks, node pre hooks and node post hooks", function()
    local x = d64({1, 2})
    x:register_hook(callable(function(g) return g * 2 end))
    local y = x * 3
    local pre, post = 0, 0
    y.grad_fn:register_prehook(callable(function() pre = pre + 1 end))
    y.grad_fn:register_hook(callable(function() post = post + 1 end))
    y:sum():backward()
    assert_close(x.grad, {6, 6})
    assert.are.equal(1, pre)
    assert.are.equal(1, post)
  end)

  it("anything else is refused", function()
    local x = d64({1, 2})
    errors("function or callable table expected", function() x:register_hook({}) end)
    errors("function or callable table expected", function() x:register_hook(5) end)
  end)
end)

describe("view_as and reshape_as (used by PyTorch's view tests)", function()
  it("take the other tensor's shape, share memory as view/reshape do, and differentiate", function()
    local x = d64({1, 2, 3, 4, 5, 6})
    local v = x:view_as(tg.zeros(2, 3))
    assert.are.same({2, 3}, v.shape)
    assert.are.equal("ViewBackward0", v.grad_fn.name)
    local r = x:reshape_as(tg.zeros(3, 2))
    assert.are.same({3, 2}, r.shape)
    ;(v * 2):sum():backward()
    assert_close(x.grad, {2, 2, 2, 2, 2, 2})
    local m = tg.arange(6.0):view(2, 3):t()
    errors("view size is not compatible with input tensor's size and stride", function() m:view_as(tg.zeros(6)) end)
    assert.are.same({6}, m:reshape_as(tg.zeros(6)).shape)
    errors("shape '[4]' is invalid for input of size 6", function() x:view_as(tg.zeros(4)) end)
  end)
end)
