-- function_spec.lua: custom autograd Functions written in Lua
-- (tg.autograd.Function{forward = ..., backward = ...}).
local tg = require "tgrad"
local helpers = require "support.helpers"
local assert_close = helpers.assert_close
local d64 = helpers.d64
local grad = tg.autograd.grad

local Exp = tg.autograd.Function{
  name = "Exp",
  forward = function(ctx, x)
    local y = x:exp()
    ctx:save_for_backward(y)
    return y
  end,
  backward = function(ctx, gy)
    local y = ctx.saved_tensors[1]
    return gy * y
  end,
}

describe("autograd.Function", function()
  it("computes values and gradients; the node prints as <ExpBackward>", function()
    local x = d64({0, 1, -1})
    local y = Exp:apply(x)
    assert_close(y, {1, math.exp(1), math.exp(-1)})
    assert.are.equal("<ExpBackward>", tostring(y.grad_fn))
    assert.are.equal("ExpBackward", y.grad_fn.name)
    assert.are.equal("AccumulateGrad", y.grad_fn.next_functions[1][1].name)
    y:sum():backward()
    assert_close(x.grad, {1, math.exp(1), math.exp(-1)})
  end)

  it("Exp.apply(x) and Exp(x) work too; forward runs without recording", function()
    local x = d64({0.5})
    local seen
    local F = tg.autograd.Function{
      forward = function(ctx, t) seen = tg.is_grad_enabled(); local r = t * 2; assert(r.grad_fn == nil); return r end,
      backward = function(ctx, g) return g * 2 end,
    }
    assert.are.equal("<CustomFunctionBackward>", tostring(F.apply(x).grad_fn))
    assert.is_false(seen)
    assert_close(grad(F(x), x)[1], {2})
    assert_close(Exp.apply(x), {math.exp(0.5)})
  end)

  it("passes gradcheck and gradgradcheck (backward written with tgrad ops)", function()
    assert.is_true(tg.autograd.gradcheck(function(x) return Exp:apply(x) end, {d64({0.1, 0.7})}))
    assert.is_true(tg.autograd.gradgradcheck(function(x) return Exp:apply(x) end, {d64({0.1, 0.7})}))
    local x = d64({0.3})
    local g = grad(Exp:apply(x):sum(), x, {create_graph = true})[1]
    assert_close(grad(g:sum(), x)[1], {math.exp(0.3)})
  end)

  it("several inputs and outputs, non-tensor arguments passed through", function()
    local seen_needs
    local MulAdd = tg.autograd.Function{
      name = "MulAdd",
      forward = function(ctx, a, k, b, tag)
        assert.are.equal(3, k)
        assert.are.equal("tag", tag)
        seen_needs = ctx.needs_input_grad
        ctx:save_for_backward(a, b)
        ctx.k = k
        return a * b * k, a + b
      end,
      backward = function(ctx, g1, g2)
        local a, b = ctx.saved_tensors[1], ctx.saved_tensors[2]
        return g1 * b * ctx.k + g2, nil, g1 * a * ctx.k + g2, nil
      end,
    }
    local a, b = d64({1, 2}), d64({3, 4}, false)
    local p, s = MulAdd:apply(a, 3, b, "tag")
    assert.are.same({true, false, false, false}, seen_needs)
    assert_close(p, {9, 24})
    assert_close(s, {4, 6})
    assert.are.equal(p.grad_fn, s.grad_fn)
    assert.are.equal(0, p.output_nr)
    assert.are.equal(1, s.output_nr)
    ;(p:sum() + s:sum() * 10):backward()
    assert_close(a.grad, {3 * 3 + 10, 4 * 3 + 10})
    assert.is_nil(b.grad)
    -- only one output used: the other's gradient arrives as zeros
    local a2 = d64({1, 2})
    local p2 = MulAdd:apply(a2, 3, d64({3, 4}), "tag")
    p2:sum():backward()
    assert_close(a2.grad, {9, 12})
  end)

  it("needs_input_grad and returning nil for inputs that need none", function()
    local F = tg.autograd.Function{
      forward = function(ctx, x, y) return x * y end,
      backward = function(ctx, g)
        local nx, ny = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        return nx and g * 2 or nil, ny and g * 5 or nil
      end,
    }
    local x, y = d64({1}), d64({1}, false)
    F:apply(x, y):backward()
    assert_close(x.grad, {2})
  end)

  it("no graph when no input requires grad (or under no_grad)", function()
    local y = Exp:apply(d64({1}, false))
    assert.is_nil(y.grad_fn)
    local x = d64({1})
    local z = tg.no_grad(function() return Exp:apply(x) end)
    assert.is_nil(z.grad_fn)
    assert.is_false(z.requires_grad)
  end)

  it("mark_non_differentiable: that output gets no grad_fn, backward sees zeros for it", function()
    local seen
    local SortLike = tg.autograd.Function{
      name = "Twice",
      forward = function(ctx, x)
        local idx = x:gt(0)
        local m = x * 2
        ctx:mark_non_differentiable(idx)
        return m, idx
      end,
      backward = function(ctx, gm, gidx)
        seen = gidx
        return gm * 2
      end,
    }
    local x = d64({1, -1})
    local m, idx = SortLike:apply(x)
    assert.is_nil(idx.grad_fn)
    assert.is_false(idx.requires_grad)
    m:sum():backward()
    assert_close(x.grad, {2, 2})
    assert.is_not_nil(seen)
  end)

  it("mark_dirty: an input modified in place is rebased onto the node", function()
    local MulInPlace = tg.autograd.Function{
      name = "Triple",
      forward = function(ctx, x)
        x:mul_(3)
        ctx:mark_dirty(x)
        return x
      end,
      backward = function(ctx, g) return g * 3 end,
    }
    local a = d64({1, 2})
    local x = a * 1
    local v0 = x:_version()
    local y = MulInPlace:apply(x)
    assert.are.equal(x, y)
    assert.are.equal("<TripleBackward>", tostring(x.grad_fn))
    assert.is_true(x:_version() > v0)
    assert_close(x, {3, 6})
    local loss = (x * x):sum()
    loss:backward()
    assert_close(a.grad, {2 * 3 * 3, 2 * 6 * 3})
    -- on a leaf that requires grad: PyTorch's error
    assert.has_error(function() MulInPlace:apply(d64({1})) end,
      "a leaf Variable that requires grad has been used in an in-place operation.")
  end)

  it("an output that is an input is returned as a new tensor with the node as grad_fn", function()
    local Id = tg.autograd.Function{
      name = "Id",
      forward = function(ctx, x) return x end,
      backward = function(ctx, g) return g * 7 end,
    }
    local x = d64({1, 2})
    local y = Id:apply(x)
    assert.are_not.equal(x, y)
    assert.is_true(x.is_leaf)
    assert.are.equal("<IdBackward>", tostring(y.grad_fn))
    y:sum():backward()
    assert_close(x.grad, {7, 7})
  end)

  it("saved outputs make no reference cycle: the node is freed with the output", function()
    local x = d64({1})
    collectgarbage()
    collectgarbage()
    local before = tg._hook_records()
    for _ = 1, 20 do Exp:apply(x):sum():backward() end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, tg._hook_records())
  end)

  it("a backward with too few gradients fails with PyTorch's message", function()
    local Bad = tg.autograd.Function{
      name = "Exp",
      forward = function(ctx, a, b) return a * b end,
      backward = function(ctx, g) return g end,
    }
    assert.has_error(function() Bad:apply(d64({1, 2}), d64({1, 2})):sum():backward() end,
      "function ExpBackward returned an incorrect number of gradients (expected 2, got 1)")
    -- extra values are fine when nil, an error otherwise
    local Extra = tg.autograd.Function{
      forward = function(ctx, a) return a * 1 end,
      backward = function(ctx, g) return g, nil, nil end,
    }
    local x = d64({1})
    Extra:apply(x):backward()
    assert_close(x.grad, {1})
    local Extra2 = tg.autograd.Function{
      name = "Two",
      forward = function(ctx, a) return a * 1 end,
      backward = function(ctx, g) return g, g end,
    }
    assert.has_error(function() Extra2:apply(d64({1})):backward() end,
      "function TwoBackward returned an incorrect number of gradients (expected 1, got 2)")
  end)

  it("a gradient of the wrong shape fails with PyTorch's message; a broadcastable one is summed", function()
    local Bad = tg.autograd.Function{
      name = "Exp",
      forward = function(ctx, a) return a * 2 end,
      backward = function(ctx, g) return tg.ones(3, {dtype = tg.float64}) end,
    }
    assert.has_error(function() Bad:apply(d64({1, 2})):sum():backward() end,
      "Function ExpBackward returned an invalid gradient at index 0 - got [3] but expected shape compatible with [2]")
    local Wide = tg.autograd.Function{
      forward = function(ctx, a) return a * 2 end,
      backward = function(ctx, g) return tg.ones(3, 2, {dtype = tg.float64}) end,
    }
    local x = d64({1, 2})
    Wide:apply(x):sum():backward()
    assert_close(x.grad, {3, 3})
  end)

  it("a gradient for a non-tensor argument fails", function()
    local Bad = tg.autograd.Function{
      name = "Scale",
      forward = function(ctx, a, k) return a * k end,
      backward = function(ctx, g) return g * 2, g end,
    }
    assert.has_error(function() Bad:apply(d64({1}), 2):backward() end,
      "function ScaleBackward returned a gradient different than None at position 2, but the corresponding forward input was not a Variable")
  end)

  it("an error inside backward surfaces with its message; with retain_graph the graph can be retried", function()
    local fail = true
    local Flaky = tg.autograd.Function{
      name = "Flaky",
      forward = function(ctx, a) ctx:save_for_backward(a) return a * a end,
      backward = function(ctx, g)
        if fail then error("flaky backward failed") end
        local a = ctx.saved_tensors[1]
        return g * a * 2
      end,
    }
    local x = d64({3})
    local loss = (Flaky:apply(x) * 2):sum()
    local ok, err = pcall(function() loss:backward(nil, {retain_graph = true}) end)
    assert.is_false(ok)
    assert.matches("flaky backward failed", err)
    assert.matches("function_spec.lua:%d+: flaky backward failed", err) -- the original message, as raised
    assert.is_nil(x.grad)
    fail = false
    loss:backward()
    assert_close(x.grad, {12})
    -- an error object that is not a string arrives untouched
    local Obj = tg.autograd.Function{
      forward = function(ctx, a) return a * 1 end,
      backward = function() error({code = 42}) end,
    }
    local ok2, e2 = pcall(function() Obj:apply(d64({1})):backward() end)
    assert.is_false(ok2)
    assert.are.equal(42, e2.code)
  end)

  it("saved tensors: version check and the freed-graph error", function()
    local Sq = tg.autograd.Function{
      forward = function(ctx, a) ctx:save_for_backward(a) return a * a end,
      backward = function(ctx, g) return g * ctx.saved_tensors[1] * 2 end,
    }
    local a = d64({1, 2})
    local b = a * 1
    local y = Sq:apply(b):sum()
    b:add_(1)
    local ok, err = pcall(function() y:backward() end)
    assert.is_false(ok)
    assert.matches("one of the variables needed for gradient computation has been modified by an inplace operation", err, 1, true)
    assert.matches("is at version 1; expected version 0 instead", err, 1, true)
    local y2 = Sq:apply(a * 1):sum()
    y2:backward()
    assert.has_error(function() y2:backward() end,
      "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.")
  end)

  it("save_for_backward accepts only tensors (and nil)", function()
    local Bad = tg.autograd.Function{
      forward = function(ctx, a) ctx:save_for_backward(a, nil, 3) return a * 1 end,
      backward = function(ctx, g) return g end,
    }
    assert.has_error(function() Bad:apply(d64({1})) end,
      "save_for_backward can only save tensors, but argument 3 is of type number")
    local Ok = tg.autograd.Function{
      forward = function(ctx, a) ctx:save_for_backward(nil, a) return a * 1 end,
      backward = function(ctx, g) assert(ctx.saved_tensors[1] == nil) return g * ctx.saved_tensors[2] end,
    }
    local x = d64({5})
    Ok:apply(x):backward()
    assert_close(x.grad, {5})
  end)

  it("works inside coroutines", function()
    local x = d64({2})
    local co = coroutine.wrap(function()
      local y = Exp:apply(x)
      coroutine.yield()
      y:backward()
      return true
    end)
    co()
    assert.is_true(co())
    assert_close(x.grad, {math.exp(2)})
  end)

  it("rejects bad definitions", function()
    assert.has_error(function() tg.autograd.Function{backward = function() end} end,
      "autograd.Function: 'forward' must be a function")
    assert.has_error(function() tg.autograd.Function{forward = function() end} end)
  end)
end)
