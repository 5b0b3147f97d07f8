-- autograd_spec.lua: tg.autograd.grad semantics, backward{inputs=},
-- retain_graph, requires_grad rules, anomaly mode, memory (saved tensors
-- released by backward, no reference cycles), coroutines.
local tg = require "tgrad"
local helpers = require "support.helpers"
local assert_close = helpers.assert_close
local d64 = helpers.d64
local grad = tg.autograd.grad

local UNUSED = "One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior."

describe("autograd.grad", function()
  it("returns a list of gradients and leaves .grad untouched", function()
    local x, y = d64({1, 2}), d64({3})
    local r = grad((x * y):sum(), {x, y})
    assert.are.equal(2, r.n)
    assert_close(r[1], {3, 3})
    assert_close(r[2], {3})
    assert.is_nil(x.grad)
    assert.is_nil(y.grad)
  end)

  it("takes a tensor or a list for outputs and inputs, with grad_outputs", function()
    local x = d64({1, 2})
    local a, b = x * 2, x * x
    local r = grad({a, b}, x, {tg.ones(2, {dtype = tg.float64}), tg.tensor({1, 10}, {dtype = tg.float64})},
      {retain_graph = true})
    assert_close(r[1], {2 + 2, 2 + 40})
    local r2 = grad(a, {x}, tg.tensor({1, -1}, {dtype = tg.float64}))
    assert_close(r2[1], {2, -2})
  end)

  it("gradients with respect to non-leaves", function()
    local x = d64({1, 2})
    local h = x * 3
    local out = (h * h):sum()
    assert_close(grad(out, h)[1], {6, 12})
  end)

  it("unused inputs: an error, or nil with allow_unused", function()
    local x, z = d64({1}), d64({2})
    assert.has_error(function() grad((x * 2):sum(), {x, z}) end, UNUSED)
    local r = grad((x * 2):sum(), {x, z}, {allow_unused = true})
    assert_close(r[1], {2})
    assert.is_nil(r[2])
    assert.are.equal(2, r.n)
    -- the error names the caller's line
    local ok, err = pcall(function() grad((x * 2):sum(), z) end)
    assert.is_false(ok)
    assert.matches("autograd_spec.lua:%d+: One of the differentiated", err)
  end)

  it("errors with PyTorch's texts", function()
    local x = d64({1, 2})
    assert.has_error(function() grad(tg.ones(1), x) end,
      "element 0 of tensors does not require grad and does not have a grad_fn")
    assert.has_error(function() grad(x * 2, x) end, "grad can be implicitly created only for scalar outputs")
    assert.has_error(function() grad((x * 2):sum(), tg.ones(2)) end, "One of the differentiated Tensors does not require grad")
    assert.has_error(function() grad(x * 2, x, tg.ones(3, {dtype = tg.float64})) end,
      "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([2]).")
  end)

  it("frees the graph unless retain_graph", function()
    local x = d64({1})
    local y = (x:exp() * 2):sum()
    grad(y, x, {retain_graph = true})
    grad(y, x)
    assert.has_error(function() grad(y, x) end)
  end)
end)

describe("backward", function()
  it("accumulates into leaves; inputs= limits accumulation", function()
    local a, b = d64({1, 2}), d64({3, 4})
    local y = (a * b):sum()
    y:backward(nil, {retain_graph = true, inputs = {a}})
    assert_close(a.grad, {3, 4})
    assert.is_nil(b.grad)
    y:backward(nil, {inputs = {b}})
    assert_close(b.grad, {1, 2})
    assert_close(a.grad, {3, 4})
    assert.has_error(function() (a * 1):sum():backward(nil, {inputs = {}}) end,
      "'inputs' argument to backward() cannot be empty.")
  end)

  it("inputs= accepts a non-leaf and fills its .grad", function()
    local x = d64({1, 2})
    local h = x * 2
    ;(h * h):sum():backward(nil, {inputs = {h}})
    assert_close(h.grad, {4, 8})
    assert.is_nil(x.grad)
  end)

  it("a second backward without retain_graph fails with PyTorch's message", function()
    local x = d64({1})
    local y = (x * x):sum()
    y:backward()
    assert.has_error(function() y:backward() end,
      "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.")
  end)

  it("tg.autograd.backward takes several roots", function()
    local x = d64({1, 2})
    tg.autograd.backward({(x * 2):sum(), (x * x):sum()})
    assert_close(x.grad, {4, 6})
  end)
end)

describe("requires_grad rules", function()
  it("only floating point tensors can require grad", function()
    assert.has_error(function() tg.tensor({1, 2}):requires_grad_() end,
      "only Tensors of floating point and complex dtype can require gradients")
    assert.has_error(function() local t = tg.zeros(2, {dtype = tg.int64}); t.requires_grad = true end,
      "only Tensors of floating point and complex dtype can require gradients")
    assert.has_error(function() tg.zeros(2, {dtype = tg.int64, requires_grad = true}) end,
      "Only Tensors of floating point and complex dtype can require gradients")
    assert.is_true(tg.zeros(2, {requires_grad = true}).requires_grad)
  end)

  it("setting it on a non-leaf fails with PyTorch's text", function()
    local y = d64({1}) * 2
    assert.has_error(function() y.requires_grad = false end,
      "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
    assert.has_error(function() y:requires_grad_(false) end)
    assert.is_true(y.requires_grad)
    assert.is_false(y.is_leaf)
  end)
end)

describe("anomaly mode", function()
  after_each(function() tg.autograd.set_detect_anomaly(false) end)

  it("names the node that produced a NaN and the forward traceback", function()
    tg.autograd.set_detect_anomaly(true)
    assert.is_true(tg.autograd.is_anomaly_enabled())
    local a = tg.tensor({0.0}, {requires_grad = true})
    local b = tg.tensor({0.0})
    local q = a / b -- the forward call
    local loss = (q * 0):sum()
    local ok, err = pcall(function() loss:backward() end)
    assert.is_false(ok)
    assert.matches("Function 'DivBackward0' returned nan values in its 0th output.", err, 1, true)
    assert.matches("Traceback of forward call that caused the error:", err, 1, true)
    assert.matches("autograd_spec.lua:%d+:", err:match("Traceback of forward call.*$"))
  end)

  it("is off by default: the NaN flows", function()
    assert.is_false(tg.autograd.is_anomaly_enabled())
    local a = tg.tensor({0.0}, {requires_grad = true})
    ;((a / tg.tensor({0.0})) * 0):sum():backward()
    assert.is_true(a.grad:item() ~= a.grad:item())
  end)

  it("detect_anomaly(fn) turns it on for fn only", function()
    local a = tg.tensor({0.0}, {requires_grad = true})
    local ok, err = pcall(tg.autograd.detect_anomaly, function()
      assert.is_true(tg.autograd.is_anomaly_enabled())
      ;((a / tg.tensor({0.0})) * 0):sum():backward()
    end)
    assert.is_false(ok)
    assert.matches("returned nan values", err, 1, true)
    assert.is_false(tg.autograd.is_anomaly_enabled())
    do
      local guard <close> = tg.autograd.detect_anomaly()
      assert.is_true(tg.autograd.is_anomaly_enabled())
    end
    assert.is_false(tg.autograd.is_anomaly_enabled())
  end)

  it("records the traceback inside coroutines too", function()
    tg.autograd.set_detect_anomaly(true)
    local a = tg.tensor({0.0}, {requires_grad = true})
    local function make_nan_graph() return (a / tg.tensor({0.0})) * 0 end
    local loss = coroutine.wrap(function() return make_nan_graph():sum() end)()
    local ok, err = pcall(function() loss:backward() end)
    assert.is_false(ok)
    assert.matches("make_nan_graph", err, 1, true)
  end)
end)

describe("memory", function()
  it("backward releases saved activations at once (50 layers of 4 MB)", function()
    local function build()
      local x = tg.randn(1024 * 1024, {requires_grad = true}) -- 4 MB
      local h = x
      for _ = 1, 50 do h = h:tanh() end
      return x, h:sum()
    end
    local x, loss = build()
    collectgarbage()
    collectgarbage() -- the intermediate Lua handles are gone; only the graph holds activations
    local before = tg._live_bytes()
    assert.is_true(before > 50 * 4 * 1024 * 1024)
    loss:backward()
    local after = tg._live_bytes()
    -- what remains: x and x.grad (and the 0-d loss)
    assert.is_true(after < 3 * 4 * 1024 * 1024, ("live bytes after backward: %d"):format(after))
    assert.are.equal(1024 * 1024, x.grad:numel())
  end)

  it("with retain_graph the activations stay until the graph goes", function()
    local function build()
      local x = tg.randn(256 * 1024, {requires_grad = true}) -- 1 MB
      local h = x
      for _ = 1, 10 do h = h:sigmoid() end
      return x, h:sum()
    end
    local x, loss = build()
    collectgarbage()
    collectgarbage()
    local before = tg._live_bytes()
    loss:backward(nil, {retain_graph = true})
    assert.is_true(tg._live_bytes() > before) -- plus x.grad, nothing freed
    loss = nil
    collectgarbage()
    collectgarbage()
    assert.is_true(tg._live_bytes() < 3 * 1024 * 1024)
    assert.is_not_nil(x)
  end)

  it("stays flat over 10,000 forward+backward iterations without collectgarbage()", function()
    collectgarbage()
    collectgarbage()
    local w = tg.randn(16, 16, {requires_grad = true})
    local b = tg.randn(16, {requires_grad = true})
    local lua_kb, live
    for i = 1, 10000 do
      local inp = tg.randn(8, 16)
      local h = (tg.matmul(inp, w) + b):tanh()
      local loss = (h * h):mean()
      loss:backward()
      if i == 1000 then lua_kb, live = collectgarbage("count"), tg._live_bytes() end
    end
    local lua_kb2, live2 = collectgarbage("count"), tg._live_bytes()
    assert.is_true(lua_kb2 < lua_kb * 2 + 1024, ("Lua heap %.0f KB -> %.0f KB"):format(lua_kb, lua_kb2))
    assert.is_true(live2 < live + 4 * 1024 * 1024, ("tensor bytes %d -> %d"):format(live, live2))
  end)

  it("no cycle between a tensor, its grad_fn and a saved output: freed by refcount alone", function()
    collectgarbage()
    collectgarbage()
    local base = tg._live_bytes()
    local x = tg.randn(1024 * 256) -- 1 MB, no grad
    local y
    do
      local w = tg.ones(1, {requires_grad = true})
      y = (x * w):exp() -- ExpBackward0 saves its own output
    end
    assert.is_true(tg._live_bytes() >= base + 2 * 1024 * 1024)
    y = nil
    x = nil
    collectgarbage()
    collectgarbage()
    assert.is_true(tg._live_bytes() <= base + 64)
  end)
end)

describe("coroutines", function()
  it("build graphs and call backward in different coroutines", function()
    local x = d64({1, 2})
    local producer = coroutine.wrap(function()
      for k = 1, 3 do coroutine.yield((x ^ k):sum()) end
    end)
    local losses = {producer(), producer(), producer()}
    local consumer = coroutine.wrap(function()
      for _, l in ipairs(losses) do l:backward(); coroutine.yield() end
      return "done"
    end)
    consumer(); consumer(); consumer()
    assert.are.equal("done", consumer())
    assert_close(x.grad, {1 + 2 + 3, 1 + 4 + 12})
  end)

  it("grad with create_graph inside a coroutine", function()
    local x = d64({2})
    local co = coroutine.wrap(function()
      local g = grad((x ^ 4):sum(), x, {create_graph = true})[1]
      coroutine.yield(g)
      return grad(g:sum(), x)[1]
    end)
    assert_close(co(), {32})
    assert_close(co(), {48})
  end)
end)
