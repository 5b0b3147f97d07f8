-- capture_spec.lua: tg.capture (issue 11, "Captured steps"). A captured training
-- step replays bit for bit what running the step does (MLP with SGD momentum and
-- Adam, a small CNN with BatchNorm and MaxPool, Dropout under one seed, class-weighted
-- cross_entropy with ignore_index), allocates nothing per replay, reuses its
-- internal buffers, and refuses what it cannot replay with a clear error.
local tg = require "tgrad"
local nn, F = tg.nn, tg.nn.functional

-- bit-for-bit equality of two tensors (values read outside any capture)
local function same(a, b) require("support.helpers").assert_same_bits(a, b, true) end

local function same_params(m1, m2)
  local p1, p2 = m1:parameters(), m2:parameters()
  assert.are.equal(#p1, #p2)
  for i = 1, #p1 do same(p1[i], p2[i]) end
end

-- run `make_step(model, opt)` uncaptured on one copy and captured on another, n steps
local function compare(build, make_step, batches, n)
  local m1, o1 = build()
  local m2, o2 = build()
  local f1, f2 = make_step(m1, o1), make_step(m2, o2)
  local x, y = batches(1)
  local step, out = tg.capture(f2, x, y)
  same(f1(x, y), out)
  for i = 2, n do
    x, y = batches(i)
    local a = f1(x, y)
    local b = step(x, y)
    assert.are.equal(out, b) -- the same output object, its values updated
    same(a, b)
  end
  same_params(m1, m2)
  return m1, o1, m2, o2, step
end

local function train_step(lossfn)
  return function(m, o)
    return function(x, y)
      o:zero_grad()
      local loss = lossfn(m(x), y)
      loss:backward()
      o:step()
      return loss
    end
  end
end

local function class_batches(n, din, classes, seed)
  local xs, ys = {}, {}
  tg.manual_seed(seed)
  for i = 1, n do
    xs[i] = tg.randn(8, table.unpack(din))
    ys[i] = tg.randint(1, classes + 1, {8})
  end
  return function(i) return xs[i], ys[i] end
end

local function mlp(opt_ctor)
  return function()
    tg.manual_seed(7)
    local m = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))
    return m, opt_ctor(m:parameters())
  end
end

describe("tg.capture: a replayed step equals running the step", function()
  it("the core activations (fused backward kernels) replay bit for bit, 20 steps", function()
    compare(function()
      tg.manual_seed(11)
      local m = nn.Sequential(nn.Linear(12, 24), nn.ELU(), nn.Linear(24, 24), nn.LeakyReLU(0.1),
                              nn.Linear(24, 24), nn.Hardswish(), nn.Linear(24, 24), nn.Mish(),
                              nn.Linear(24, 24), nn.Sigmoid(), nn.Linear(24, 24), nn.SiLU(),
                              nn.Linear(24, 24), nn.GELU(), nn.Linear(24, 5))
      return m, tg.optim.Adam(m:parameters(), {lr = 1e-2})
    end, train_step(F.cross_entropy), class_batches(20, {12}, 5, 3), 20)
  end)

  it("MLP + cross_entropy + SGD with momentum, 100 steps, bit for bit", function()
    local _, o1, m2, o2 = compare(mlp(function(p) return tg.optim.SGD(p, {lr = 0.05, momentum = 0.9}) end),
      train_step(F.cross_entropy), class_batches(100, {12}, 5, 1), 100)
    local p = m2:parameters()[1]
    same(o1.state[o1.param_groups[1].params[1]].momentum_buffer, o2.state[p].momentum_buffer)
  end)

  it("MLP + mse_loss + Adam, 100 steps, bit for bit, and the optimizer's step count advances", function()
    tg.manual_seed(3)
    local xs, ys = {}, {}
    for i = 1, 100 do xs[i], ys[i] = tg.randn(8, 12), tg.randn(8, 5) end
    local _, o1, m2, o2 = compare(mlp(function(p) return tg.optim.Adam(p, {lr = 1e-2}) end),
      train_step(F.mse_loss), function(i) return xs[i], ys[i] end, 100)
    local p1, p2 = o1.param_groups[1].params[1], m2:parameters()[1]
    assert.are.equal(100, o1.state[p1].step)
    assert.are.equal(100, o2.state[p2].step)
    assert.are.equal(math.type(o1.state[p1].step), math.type(o2.state[p2].step))
    same(o1.state[p1].exp_avg_sq, o2.state[p2].exp_avg_sq)
  end)

  it("NAdam replays bit for bit and its state's mu_product and step follow", function()
    local _, o1, m2, o2 = compare(mlp(function(p) return tg.optim.NAdam(p, {lr = 1e-2}) end),
      train_step(F.cross_entropy), class_batches(15, {12}, 5, 13), 15)
    local p1, p2 = o1.param_groups[1].params[1], m2:parameters()[1]
    assert.are.equal(o1.state[p1].mu_product, o2.state[p2].mu_product)
    assert.are.equal(15, o2.state[p2].step)
  end)

  it("AdamW, RMSprop, Adagrad, RAdam, Adadelta and Rprop steps replay bit for bit", function()
    local ctors = {
      function(p) return tg.optim.AdamW(p, {lr = 1e-2, amsgrad = true}) end,
      function(p) return tg.optim.RMSprop(p, {lr = 1e-2, momentum = 0.5, centered = true}) end,
      function(p) return tg.optim.Adagrad(p, {lr = 1e-2, lr_decay = 0.01}) end,
      function(p) return tg.optim.RAdam(p, {lr = 1e-2}) end,
      function(p) return tg.optim.Adadelta(p, {lr = 0.5}) end,
      function(p) return tg.optim.Rprop(p, {lr = 1e-2}) end,
    }
    for _, ctor in ipairs(ctors) do
      compare(mlp(ctor), train_step(F.cross_entropy), class_batches(12, {12}, 5, 2), 12)
    end
  end)

  it("a small CNN: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear, cross_entropy, 100 steps", function()
    local function build()
      tg.manual_seed(11)
      local m = nn.Sequential(nn.Conv2d(2, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
      return m, tg.optim.SGD(m:parameters(), {lr = 0.05, momentum = 0.9})
    end
    local m1, _, m2 = compare(build, train_step(F.cross_entropy), class_batches(100, {2, 8, 8}, 3, 4), 100)
    local b1, b2 = m1[2], m2[2]
    same(b1.running_mean, b2.running_mean)
    same(b1.running_var, b2.running_var)
    same(b1.num_batches_tracked, b2.num_batches_tracked)
  end)

  it("Embedding, LayerNorm, GELU, Softmax and AdamW replay bit for bit", function()
    local function build()
      tg.manual_seed(21)
      local m = nn.Sequential(nn.Embedding(10, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 6), nn.LogSoftmax(-1))
      return m, tg.optim.AdamW(m:parameters(), {lr = 1e-2})
    end
    tg.manual_seed(22)
    local xs, ys = {}, {}
    for i = 1, 20 do xs[i], ys[i] = tg.randint(1, 11, {4, 3}), tg.randn(4, 3, 6) end
    compare(build, train_step(F.mse_loss), function(i) return xs[i], ys[i] end, 20)
  end)

  it("GroupNorm, grouped Conv2d, AvgPool2d, AdaptiveAvgPool2d, Softplus, Adamax replay bit for bit", function()
    local function build()
      tg.manual_seed(31)
      local m = nn.Sequential(nn.Conv2d(2, 4, 3, {padding = 1}), nn.GroupNorm(2, 4), nn.Softplus(),
        nn.Conv2d(4, 4, 3, {padding = 1, groups = 2}), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3))
      return m, tg.optim.Adamax(m:parameters(), {lr = 1e-2})
    end
    compare(build, train_step(F.cross_entropy), class_batches(20, {2, 8, 8}, 3, 5), 20)
  end)

  it("Upsample (bilinear) and interpolate replay bit for bit", function()
    local function build()
      tg.manual_seed(41)
      local m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample({scale_factor = 2, mode = "bilinear"}), nn.ReLU(),
        nn.Flatten(), nn.Linear(2 * 8 * 8, 2))
      return m, tg.optim.SGD(m:parameters(), {lr = 0.05, momentum = 0.5, nesterov = true})
    end
    compare(build, train_step(F.cross_entropy), class_batches(10, {1, 6, 6}, 2, 6), 10)
  end)

  it("Dropout draws fresh numbers on every replay, as the uncaptured step under the same seed", function()
    local function build()
      tg.manual_seed(5)
      local m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
      return m, tg.optim.SGD(m:parameters(), {lr = 0.1})
    end
    local m1, o1 = build()
    local m2, o2 = build()
    local f1, f2 = train_step(F.cross_entropy)(m1, o1), train_step(F.cross_entropy)(m2, o2)
    local batches = class_batches(20, {6}, 2, 9)
    local x, y = batches(1)
    tg.manual_seed(100)
    local a = f1(x, y)
    local l1 = {a:_flat()[1]}
    for i = 2, 20 do l1[i] = f1(batches(i)):_flat()[1] end
    tg.manual_seed(100)
    local step, b = tg.capture(f2, x, y)
    local l2 = {b:_flat()[1]}
    for i = 2, 20 do l2[i] = step(batches(i)):_flat()[1] end
    assert.are.same(l1, l2)
    same_params(m1, m2)
  end)

  it("cross_entropy with class weights and ignore_index: the mean's total weight follows each batch", function()
    local w = tg.tensor({1.0, 2.0, 0.5, 3.0})
    local ys = {tg.tensor({1, 2, 3, 4, 1, 2}), tg.tensor({4, 4, 4, 0, 0, 1}), tg.tensor({0, 0, 0, 0, 0, 2})}
    local lossfn = function(out, y) return F.cross_entropy(out, y, {weight = w, ignore_index = 0}) end
    tg.manual_seed(2)
    local xs = {tg.randn(6, 7), tg.randn(6, 7), tg.randn(6, 7)}
    local build = function()
      tg.manual_seed(8)
      local m = nn.Linear(7, 4)
      return m, tg.optim.SGD(m:parameters(), {lr = 0.1})
    end
    compare(build, train_step(lossfn), function(i) return xs[(i - 1) % 3 + 1], ys[(i - 1) % 3 + 1] end, 9)
  end)

  it("label smoothing and clip_grad_norm_ inside the step replay bit for bit", function()
    local build = mlp(function(p) return tg.optim.SGD(p, {lr = 0.1, momentum = 0.9}) end)
    local make_step = function(m, o)
      return function(x, y)
        o:zero_grad()
        local loss = F.cross_entropy(m(x), y, {label_smoothing = 0.1})
        loss:backward()
        nn.utils.clip_grad_norm_(m:parameters(), 0.5)
        o:step()
        return loss
      end
    end
    compare(build, make_step, class_batches(15, {12}, 5, 12), 15)
  end)

  it("manual updates under no_grad and .grad reset at the end replay too", function()
    local function build()
      tg.manual_seed(1)
      return nn.Linear(3, 2), nil
    end
    local function make_step(m)
      return function(x, y)
        local loss = F.mse_loss(m(x), y)
        loss:backward()
        tg.no_grad(function()
          for _, p in ipairs(m:parameters()) do
            p:sub_(p.grad * 0.1)
            p.grad = nil
          end
        end)
        return loss
      end
    end
    tg.manual_seed(4)
    local xs, ys = {}, {}
    for i = 1, 10 do xs[i], ys[i] = tg.randn(4, 3), tg.randn(4, 2) end
    compare(build, make_step, function(i) return xs[i], ys[i] end, 10)
  end)

  it("zero_grad(set_to_none = false) keeps accumulating into the same .grad buffers", function()
    local build = mlp(function(p) return tg.optim.SGD(p, {lr = 0.01}) end)
    local make_step = function(m, o)
      return function(x, y)
        o:zero_grad(false)
        local loss = F.cross_entropy(m(x), y)
        loss:backward()
        o:step()
        return loss
      end
    end
    local m1, o1 = build()
    o1:zero_grad(false)
    local m2, o2 = build()
    -- the gradients exist before the capture: backward adds into them
    F.cross_entropy(m1(tg.zeros(1, 12)), tg.tensor({1})):backward()
    F.cross_entropy(m2(tg.zeros(1, 12)), tg.tensor({1})):backward()
    local f1, f2 = make_step(m1, o1), make_step(m2, o2)
    local batches = class_batches(6, {12}, 5, 6)
    local step = tg.capture(f2, batches(1))
    f1(batches(1))
    for i = 2, 6 do same(f1(batches(i)), step(batches(i))) end
    same_params(m1, m2)
  end)

  it("a replay on the captured tensors themselves reads their current values", function()
    local x = tg.tensor({1.0, 2.0, 3.0})
    local step, y = tg.capture(function(t) return (t * 2):exp():sum() end, x)
    same(y, (x * 2):exp():sum())
    x:copy_(tg.tensor({0.5, 0.25, 0.0}))
    same(step(x), (x * 2):exp():sum())
    local z = tg.tensor({-1.0, 0.0, 1.0})
    same(step(z), (z * 2):exp():sum())
  end)

  it("plans its internal buffers into one arena smaller than their sum, and allocates nothing per replay", function()
    local m, o = mlp(function(p) return tg.optim.SGD(p, {lr = 0.01, momentum = 0.9}) end)()
    local f = train_step(F.cross_entropy)(m, o)
    local batches = class_batches(3, {12}, 5, 3)
    local step = tg.capture(f, batches(1))
    local info = tg._capture_info(step)
    assert.is_true(info.records > 10)
    assert.is_true(info.planned_buffers > 3)
    assert.is_true(info.arena_bytes > 0 and info.arena_bytes < info.planned_bytes)
    step(batches(2))
    collectgarbage()
    local before = tg.memory_allocated()
    for _ = 1, 20 do step(batches(3)) end
    assert.are.equal(before, tg.memory_allocated())
  end)

  it("returns fn's results after the step function, and an error in fn propagates (the context recovers)", function()
    local x = tg.ones(2)
    local step, a, b = tg.capture(function(t) return t + 1, "tag" end, x)
    assert.are.equal("function", type(step))
    same(a, tg.tensor({2.0, 2.0}))
    assert.are.equal("tag", b)
    assert.has_error(function() tg.capture(function() error("boom") end) end)
    local ok, err = pcall(tg.capture, function() error("boom") end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom", 1, true))
    -- the context records no more: a later uncaptured op and a new capture work
    same(x + 1, tg.tensor({2.0, 2.0}))
    local s2 = tg.capture(function(t) return t * 3 end, x)
    same(s2(tg.tensor({1.0, 2.0})), tg.tensor({3.0, 6.0}))
  end)
end)

describe("tg.capture: optimizer hyper-parameters changed between replays", function()
  -- a step whose fn counts its runs (the capture and re-captures), with an optimizer
  -- that setup(o) returns a change(i) function for, called before step i; compared
  -- bit for bit with the same steps uncaptured
  local function scheduled(opt_ctor, n, setup)
    local b = class_batches(n, {12}, 5, 21)
    local m1, o1 = mlp(opt_ctor)()
    local m2, o2 = mlp(opt_ctor)()
    local c1, c2 = setup(o1), setup(o2)
    local runs = 0
    local f1 = train_step(F.cross_entropy)(m1, o1)
    local inner = train_step(F.cross_entropy)(m2, o2)
    local f2 = function(x, y) runs = runs + 1; return inner(x, y) end
    local x, y = b(1)
    local step, out = tg.capture(f2, x, y)
    same(f1(x, y), out)
    for i = 2, n do
      c1(i); c2(i)
      x, y = b(i)
      same(f1(x, y), (step(x, y)))
    end
    same_params(m1, m2)
    return runs
  end

  it("a scheduler's lr: the next call captures the step again with it (SGD momentum + StepLR)", function()
    local runs = scheduled(function(p) return tg.optim.SGD(p, {lr = 0.1, momentum = 0.9}) end, 30, function(o)
      local s = tg.optim.lr_scheduler.StepLR(o, {step_size = 5, gamma = 0.5})
      return function() s:step() end
    end)
    assert.are.equal(6, runs) -- the capture, then one re-capture after each lr change (5 in 29 scheduler steps)
  end)

  it("Adam's betas and weight_decay set by hand between replays", function()
    local runs = scheduled(function(p) return tg.optim.Adam(p, {lr = 1e-2}) end, 12, function(o)
      return function(i)
        if i == 4 then o.param_groups[1].betas = {0.8, 0.99} end
        if i == 8 then o.param_groups[1].weight_decay = 0.01 end
      end
    end)
    assert.are.equal(3, runs)
  end)

  it("unchanged hyper-parameters replay without running fn; a new param group captures again", function()
    assert.are.equal(1, scheduled(function(p) return tg.optim.SGD(p, {lr = 0.05}) end, 10,
      function() return function() end end))
    assert.are.equal(2, scheduled(function(p) return tg.optim.SGD(p, {lr = 0.05}) end, 6, function(o)
      return function(i)
        if i == 3 then o:add_param_group({params = {tg.zeros(2, {requires_grad = true})}, lr = 0.1}) end
      end
    end))
  end)
end)

describe("tg.capture refuses what a replay cannot do", function()
  local x = tg.tensor({1.0, 2.0, 3.0})
  local function refused(fn, text, ...)
    local ok, err = pcall(tg.capture, fn, ...)
    assert.is_false(ok)
    err = tostring(err)
    assert(err:find(text, 1, true), "expected '" .. text .. "' in: " .. err)
  end
  local READ = " reads tensor values into Lua, which a replay cannot do (data-dependent control flow, printing, " ..
    "logging); move it out of the captured function and read the tensors the step returns after it ran"

  it("item(): data-dependent control flow", function()
    refused(function(t) if (t:sum()):item() > 0 then return t * 2 end return t end, "tg.capture: item()" .. READ, x)
  end)
  it("tolist()", function()
    refused(function(t) return t:exp():tolist() end, "tg.capture: tolist()" .. READ, x)
  end)
  it("printing: tostring() and print()", function()
    refused(function(t) return tostring(t * 2) end, "tg.capture: tostring()/print()" .. READ, x)
    refused(function(t) local s = tostring(t:sum()) return s end, READ, x)
    refused(function(t) print(t:sum()) end, "tg.capture: tostring()/print()" .. READ, x)
  end)
  it("saving tensors (tg.save)", function()
    local path = os.tmpname()
    refused(function(t) tg.save(path, {y = t * 2}) end, "tg.capture: tg.save()" .. READ, x)
    os.remove(path)
  end)
  it("comparisons that return Lua values (equal, allclose through item())", function()
    refused(function(t) return (t:eq(t)):all():item() end, "tg.capture: item()" .. READ, x)
  end)
  it("a value read on the host inside an op (a data-dependent kernel choice)", function()
    local p = tg.tensor({1.0, 2.0, 3.0}, {requires_grad = true})
    refused(function(t)
      local y = (p * t):prod()
      y:backward()
      return y
    end, "tg.capture: the step reads on the host a tensor value that changes from one step to the next", x)
  end)
  it("a tensor hook or a custom Function runs Lua during backward", function()
    local msg = "tg.capture: a hook or a custom Function runs Lua during backward, which a replay cannot run; " ..
      "remove the hook (or use built-in ops instead of the custom Function) in a captured step"
    local p = tg.tensor({1.0, 2.0}, {requires_grad = true})
    refused(function()
      local y = p * 2
      y:register_hook(function(g) return g end)
      y:sum():backward()
      p.grad = nil
    end, msg)
    local Double = tg.autograd.Function{
      forward = function(ctx, t) return t * 2 end,
      backward = function(ctx, g) return g * 2 end,
    }
    refused(function()
      Double:apply(p):sum():backward()
      p.grad = nil
    end, msg)
  end)
  it("gradient accumulation the step does not reset", function()
    local p = tg.tensor({1.0, 2.0}, {requires_grad = true})
    refused(function(t) (p * t:sum()):sum():backward() end,
      "tg.capture: backward set the .grad of a tensor of shape [2] that had none, and the step does not reset it: " ..
      "running the step again would accumulate into that gradient, a replay would overwrite it; call " ..
      "opt:zero_grad() (or set .grad = nil) inside the captured function, before backward", x)
  end)
  it("backward(create_graph) adding into an existing .grad", function()
    local p = tg.tensor({1.0, 2.0}, {requires_grad = true})
    ;(p * p):sum():backward({create_graph = true})
    refused(function(t) (p * t:sum()):sum():backward({create_graph = true}) end,
      "tg.capture: backward adds into a .grad that has a graph (create_graph) by replacing it, which a replay " ..
      "cannot follow; reset the gradients (zero_grad()) inside the captured step", x)
  end)
  it("values whose shape depends on data (nonzero, masked_select)", function()
    refused(function(t) return t:masked_select(t:gt(1)) end,
      "tg.capture: the step makes a tensor whose shape depends on tensor values (nonzero, masked_select, boolean " ..
      "indexing...); a replay needs the same shapes every time: run this step uncaptured", x)
  end)
  it("ASGD (per-step scalars kept in Lua)", function()
    local p = tg.tensor({1.0, 2.0}, {requires_grad = true})
    local o2 = tg.optim.ASGD({p})
    refused(function(t)
      o2:zero_grad();
      (p * t:sum()):sum():backward()
      o2:step()
    end, "tg.capture: the optimizer ASGD (its eta and mu) keeps per-step scalars in Lua that a replay cannot " ..
      "advance; use SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam or Rprop in a captured " ..
      "step, or run this step uncaptured", x)
  end)
  it("a nested capture", function()
    refused(function(t) return tg.capture(function(u) return u end, t) end,
      "tg.capture: a capture is already running (captures do not nest)", x)
  end)
  it("replaying a captured step inside a capture", function()
    local inner = tg.capture(function(t) return t + 1 end, x)
    refused(function(t) return inner(t) end,
      "tg.capture: a captured step cannot be replayed while a capture is recording", x)
  end)
  it("not a function", function()
    refused(nil, "tg.capture: expected a function, got nil")
  end)

  describe("at replay", function()
    local step = tg.capture(function(t, k) return t * k end, tg.ones(2, 3), 2)
    local function fails(text, ...)
      local ok, err = pcall(step, ...)
      assert.is_false(ok)
      assert(tostring(err):find(text, 1, true), "expected '" .. text .. "' in: " .. tostring(err))
    end
    it("a shape change", function()
      fails("tg.capture: argument 1 has shape [3, 2] but the step was captured with [2, 3]; capture the step again " ..
        "for new shapes", tg.ones(3, 2), 2)
    end)
    it("a dtype change", function()
      fails("tg.capture: argument 1 has dtype float64 but the step was captured with float32; capture the step " ..
        "again for new dtypes", tg.ones(2, 3, {dtype = tg.float64}), 2)
    end)
    it("another argument count, a non-tensor where a tensor was, a changed non-tensor argument", function()
      fails("tg.capture: the step was captured with 2 arguments, got 1", tg.ones(2, 3))
      fails("tg.capture: argument 1 must be a tensor (the step was captured with one), got number", 1, 2)
      fails("tg.capture: argument 2 differs from the one the step was captured with; a replay takes new tensors " ..
        "only (pass a value that changes as a tensor)", tg.ones(2, 3), 3)
    end)
    it("works again after a refused replay", function()
      same(step(tg.full({2, 3}, 4.0), 2), tg.full({2, 3}, 8.0))
    end)
  end)
end)

describe("README: Captured steps", function()
  it("the snippet runs as printed and prints what its --> comment says", function()
    local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "spec/"
    local f = assert(io.open(dir .. "../README.md", "rb"))
    local readme = f:read("a")
    f:close()
    local section = assert(readme:match("\n### Captured steps %(tg.capture%)\n(.-)\n## "), "README has no section")
    local code = assert(section:match("```lua\n(.-)\n```"))
    local printed = {}
    local env = setmetatable({print = function(...)
      local t = table.pack(...)
      for i = 1, t.n do t[i] = tostring(t[i]) end
      printed[#printed + 1] = table.concat(t, "\t")
    end}, {__index = _G})
    assert(load(code, "README", "t", env))()
    local want = {}
    for line in code:gmatch("[^\n]+") do
      local w = line:match("%-%-> (.*)$")
      if w then want[#want + 1] = w end
    end
    assert.are.same(want, printed)
  end)
end)
