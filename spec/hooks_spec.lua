-- hooks_spec.lua: tensor hooks (t:register_hook), node hooks
-- (grad_fn:register_hook / register_prehook), removable handles, errors
-- raised inside hooks, hooks in coroutines, release of hook state.
local tg = require "tgrad"
local helpers = require "support.helpers"
local assert_close = helpers.assert_close
local d64 = helpers.d64

describe("tensor hooks", function()
  it("run on a leaf's gradient before accumulation; a returned tensor replaces it", function()
    local x = d64({1, 2})
    local seen
    x:register_hook(function(g) seen = g:clone() end)
    x:register_hook(function(g) return g * 10 end)
    ;(x * 3):sum():backward()
    assert_close(seen, {3, 3})
    assert_close(x.grad, {30, 30})
  end)

  it("run on a non-leaf's gradient and change what flows further", function()
    local x = d64({1, 2})
    local y = x * x
    local seen
    y:register_hook(function(g) seen = g:clone(); return g * 2 end)
    y:sum():backward()
    assert_close(seen, {1, 1})
    assert_close(x.grad, {4, 8})
  end)

  it("hooks run in registration order, each sees the previous one's result", function()
    local x = d64({1})
    local order = {}
    x:register_hook(function(g) order[#order + 1] = g:item(); return g + 1 end)
    x:register_hook(function(g) order[#order + 1] = g:item(); return g * 3 end)
    x:sum():backward()
    assert.are.same({1, 2}, order)
    assert_close(x.grad, {6})
  end)

  it("handle:remove() stops a hook", function()
    local x = d64({1, 2})
    local calls = 0
    local h = x:register_hook(function(g) calls = calls + 1 end)
    ;(x * 1):sum():backward()
    h:remove()
    ;(x * 1):sum():backward()
    assert.are.equal(1, calls)
    h:remove() -- twice is harmless
  end)

  it("hooks also run for autograd.grad and see the captured gradient", function()
    local x = d64({2})
    x:register_hook(function(g) return g * 100 end)
    local g = tg.autograd.grad((x * x):sum(), x)[1]
    assert_close(g, {400})
    assert.is_nil(x.grad)
  end)

  it("cannot be registered on a tensor that doesn't require grad", function()
    assert.has_error(function() tg.ones(2):register_hook(function() end) end,
      "cannot register a hook on a tensor that doesn't require gradient")
  end)

  it("a replacement of another size fails", function()
    local x = d64({1, 2})
    x:register_hook(function(g) return tg.ones(3, {dtype = tg.float64}) end)
    local ok, err = pcall(function() (x * 1):sum():backward() end)
    assert.is_false(ok)
    assert.matches("has changed the size of value", err, 1, true)
  end)

  it("an error raised in a hook propagates from backward() with its message", function()
    local x = d64({1})
    local y = x * 2
    y:register_hook(function() error("hook exploded") end)
    local ok, err = pcall(function() y:sum():backward() end)
    assert.is_false(ok)
    assert.matches("hooks_spec.lua:%d+: hook exploded", err)
  end)

  it("hooks with create_graph see differentiable gradients", function()
    local x = d64({3})
    local y = x ^ 3
    local had_fn
    y:register_hook(function(g) had_fn = g.grad_fn ~= nil; return g * 2 end)
    local g = tg.autograd.grad(y * y, x, {create_graph = true})[1] -- 2 * d/dx x^6
    assert.is_true(had_fn)
    assert_close(g, {2 * 6 * 3 ^ 5})
    -- the hook runs again in the second backward (it is on y): 7776, as PyTorch
    assert_close(tg.autograd.grad(g, x)[1], {7776})
  end)
end)

describe("node hooks", function()
  it("register_prehook sees grad_outputs and may replace them", function()
    local x = d64({1, 2})
    local y = x * 3
    local seen
    y.grad_fn:register_prehook(function(gout)
      seen = gout[1]:clone()
      return {gout[1] * 2}
    end)
    y:sum():backward()
    assert_close(seen, {1, 1})
    assert_close(x.grad, {6, 6})
  end)

  it("register_hook sees grad_inputs and grad_outputs and may replace grad_inputs", function()
    local a, b = d64({1, 2}), d64({3, 4})
    local y = a * b
    local gi, go
    local h = y.grad_fn:register_hook(function(grad_inputs, grad_outputs)
      gi, go = grad_inputs, grad_outputs
      return {grad_inputs[1] * 0, grad_inputs[2]}
    end)
    y:sum():backward(nil, {retain_graph = true})
    assert.are.equal(2, gi.n)
    assert_close(gi[1], {3, 4})
    assert_close(gi[2], {1, 2})
    assert_close(go[1], {1, 1})
    assert_close(a.grad, {0, 0})
    assert_close(b.grad, {1, 2})
    h:remove()
    y:sum():backward()
    assert_close(a.grad, {3, 4})
  end)

  it("grad_inputs holds nil for inputs that need no gradient", function()
    local a, b = d64({1}), d64({2}, false)
    local y = a * b
    local gi
    y.grad_fn:register_hook(function(grad_inputs) gi = grad_inputs end)
    y:backward()
    assert.is_not_nil(gi[1])
    assert.is_nil(gi[2])
  end)

  it("hooks on AccumulateGrad", function()
    local x = d64({1})
    local acc = (x * 1).grad_fn.next_functions[1][1]
    assert.are.equal("AccumulateGrad", acc.name)
    local pre
    acc:register_prehook(function(g) pre = g[1]:item() end)
    ;(x * 5):backward()
    assert.are.equal(5, pre)
  end)
end)

describe("hooks and Lua threads", function()
  it("run on the coroutine that calls backward", function()
    local x = d64({1, 2})
    local y = (x * x):sum()
    local ran_on
    x:register_hook(function(g) ran_on = coroutine.running() end)
    local co = coroutine.create(function() y:backward() end)
    assert(coroutine.resume(co))
    assert.are.equal(co, ran_on)
    assert_close(x.grad, {2, 4})
  end)

  it("graphs built in one coroutine, backward in another, with hooks calling tgrad", function()
    local x = d64({2})
    local build = coroutine.wrap(function()
      local y = x ^ 3
      y:register_hook(function(g) return g * tg.ones(1, {dtype = tg.float64}) * 2 end)
      coroutine.yield(y)
    end)
    local y = build()
    local back = coroutine.wrap(function() y:backward(); return "done" end)
    assert.are.equal("done", back())
    assert_close(x.grad, {24})
  end)

  it("a hook that yields fails cleanly", function()
    local x = d64({1})
    x:register_hook(function() coroutine.yield() end)
    local co = coroutine.create(function() (x * 1):backward() end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.matches("yield", err)
  end)
end)

describe("hook state", function()
  it("is released when the tensor or node dies (no growth over many iterations)", function()
    collectgarbage()
    collectgarbage()
    local before = tg._hook_records()
    for _ = 1, 200 do
      local x = d64({1})
      local y = x * 2
      x:register_hook(function(g) return g end)
      y:register_hook(function(g) return g end)
      y.grad_fn:register_hook(function() end)
      y:backward()
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(tg._hook_records() <= before + 3)
  end)
end)
