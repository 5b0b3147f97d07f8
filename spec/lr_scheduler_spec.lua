-- lr_scheduler_spec.lua: tg.optim.lr_scheduler (issue 8, "Training"). The
-- get_last_lr() sequences (and the momentum / beta1 OneCycleLR cycles) of every
-- scheduler over 25 steps against PyTorch (spec/fixtures/optim.lua, written by
-- tools/gen_optim_fixtures.py), on an optimizer with two parameter groups;
-- state_dict round trips, closed forms for an explicit epoch, errors. Cases
-- after PyTorch's test/optim/test_lrscheduler.py.
local tg = require "tgrad"
local fx = require("support.fixtures").load("optim")
local helpers = require "support.helpers"
local errors, assert_close = helpers.errors, helpers.assert_close
local S = tg.optim.lr_scheduler

-- the generator's lambdas, by name
local lambdas = {
  pow095 = function(e) return 0.95 ^ e end,
  pow09 = function(e) return 0.9 ^ e end,
  inv = function(e) return 1.0 / (e + 1) end,
  const095 = function() return 0.95 end,
}

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

local function optimizer(kind)
  local w = tg.zeros(2, {requires_grad = true})
  local v = tg.zeros(3, {requires_grad = true})
  if kind == "Adam" then return tg.optim.Adam({{params = {w}}, {params = {v}, lr = 0.05}}, {lr = 0.1}) end
  return tg.optim.SGD({{params = {w}}, {params = {v}, lr = 0.05}}, {lr = 0.1, momentum = 0.9})
end

local function args_of(case)
  local args = {}
  for i, a in ipairs(case.args) do
    if type(a) == "string" then
      args[i] = lambdas[a]
    elseif type(a) == "table" and type(a[1]) == "string" then
      args[i] = {}
      for j, name in ipairs(a) do args[i][j] = lambdas[name] end
    else
      args[i] = copy(a)
    end
  end
  return args
end

local function build(case)
  local opt = optimizer(case.optim)
  if case.subs then -- SequentialLR / ChainedScheduler over children built first
    local children = {}
    for i, sub in ipairs(case.subs) do
      local a = args_of(sub)
      a[#a + 1] = copy(sub.opts)
      children[i] = S[sub.cls](opt, table.unpack(a))
    end
    if case.cls == "ChainedScheduler" then return opt, S.ChainedScheduler(children) end
    local a = args_of(case)
    table.insert(a, 1, children)
    a[#a + 1] = copy(case.opts)
    return opt, S[case.cls](opt, table.unpack(a))
  end
  local args = args_of(case)
  args[#args + 1] = copy(case.opts)
  return opt, S[case.cls](opt, table.unpack(args))
end

local function momentum_of(opt, kind)
  local out = {}
  for i, g in ipairs(opt.param_groups) do out[i] = kind == "Adam" and g.betas[1] or g.momentum end
  return out
end

local function check_seq(case, k, sched, opt)
  local ok, err = pcall(function()
    assert_close(sched:get_last_lr(), case.lrs[k], 1e-12)
    assert_close(momentum_of(opt, case.optim), case.momentum[k], 1e-12)
  end)
  if not ok then error(("%s, after %d steps: %s"):format(case.name, k - 1, tostring(err)), 0) end
end

describe("tg.optim.lr_scheduler sequences against PyTorch", function()
  for _, case in ipairs(fx.schedulers) do
    it(case.name, function()
      local opt, sched = build(case)
      check_seq(case, 1, sched, opt)
      for i = 1, #case.lrs - 1 do
        opt:step()
        if case.metrics then sched:step(case.metrics[i]) else sched:step() end
        check_seq(case, i + 1, sched, opt)
        -- the optimizer's groups carry the scheduled lr
        assert_close({opt.param_groups[1].lr, opt.param_groups[2].lr}, case.lrs[i + 1], 1e-12)
      end
    end)
  end

  it("state_dict round trip continues identically", function()
    for _, case in ipairs(fx.schedulers) do
      local opt, sched = build(case)
      local half = 12
      for i = 1, half do
        if case.metrics then sched:step(case.metrics[i]) else sched:step() end
      end
      local sd = sched:state_dict()
      local osd = opt:state_dict()
      assert.is_nil(sd.optimizer)
      local opt2, sched2 = build(case)
      opt2:load_state_dict(osd)
      sched2:load_state_dict(sd)
      for i = half + 1, #case.lrs - 1 do
        if case.metrics then
          sched:step(case.metrics[i])
          sched2:step(case.metrics[i])
        else
          sched:step()
          sched2:step()
        end
        assert_close(sched2:get_last_lr(), sched:get_last_lr(), 0)
        assert_close(sched2:get_last_lr(), case.lrs[i + 1], 1e-12)
        assert_close(momentum_of(opt2, case.optim), case.momentum[i + 1], 1e-12)
      end
    end
  end)
end)

describe("tg.optim.lr_scheduler behaviour", function()
  it("required arguments positional or in the options table", function()
    local a, b = optimizer(), optimizer()
    local s1 = S.StepLR(a, 3, {gamma = 0.5})
    local s2 = S.StepLR(b, {step_size = 3, gamma = 0.5})
    for _ = 1, 7 do
      s1:step()
      s2:step()
    end
    assert.are.same(s1:get_last_lr(), s2:get_last_lr())
    assert_close(s1:get_last_lr(), {0.1 * 0.25, 0.05 * 0.25}, 1e-15)
  end)

  it("initial_lr and base_lrs as PyTorch", function()
    local opt = optimizer()
    local s = S.ExponentialLR(opt, 0.5)
    assert.are.same({0.1, 0.05}, s.base_lrs)
    assert.are.equal(0.1, opt.param_groups[1].initial_lr)
    assert.are.equal(0, s.last_epoch)
    s:step()
    assert.are.equal(1, s.last_epoch)
    assert.are.equal(0.05, opt.param_groups[1].lr)
  end)

  it("an explicit epoch uses the closed form", function()
    local opt = optimizer()
    local s = S.StepLR(opt, 3, {gamma = 0.5})
    s:step(7)
    assert_close(s:get_last_lr(), {0.1 * 0.25, 0.05 * 0.25}, 1e-15)
    local opt2 = optimizer()
    local c = S.CosineAnnealingLR(opt2, 10, {eta_min = 0.01})
    c:step(5)
    assert_close(c:get_last_lr()[1], 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * 5 / 10)) / 2, 1e-15)
    local opt3 = optimizer()
    local m = S.MultiStepLR(opt3, {2, 4, 4}, {gamma = 0.1})
    m:step(4)
    assert_close(m:get_last_lr()[1], 0.1 * 0.1 ^ 3, 1e-15)
  end)

  it("the closed forms (an explicit epoch) give the chainable sequences (PyTorch's _test_against_closed_form)", function()
    local closed = {StepLR = true, MultiStepLR = true, ExponentialLR = true, CosineAnnealingLR = true,
                    LinearLR = true, ConstantLR = true, PolynomialLR = true}
    local n = 0
    for _, case in ipairs(fx.schedulers) do
      if closed[case.cls] then
        local opt, sched = build(case)
        for e = 1, #case.lrs - 1 do
          sched:step(e)
          local ok, err = pcall(assert_close, sched:get_last_lr(), case.lrs[e + 1], 1e-12)
          if not ok then error(("%s at epoch %d: %s"):format(case.name, e, err), 0) end
        end
        assert.are.equal(#case.lrs - 1, sched.last_epoch)
        assert.truthy(opt)
        n = n + 1
      end
    end
    assert.are.equal(10, n)
  end)

  it("CosineAnnealingWarmRestarts with explicit (fractional) epochs", function()
    local opt = optimizer()
    local s = S.CosineAnnealingWarmRestarts(opt, 4, {T_mult = 2})
    s:step(9.5) -- second cycle (length 8) started at 4: T_cur 5.5
    assert.are.equal(8, s.T_i)
    assert_close(s.T_cur, 5.5, 1e-12)
    assert_close(s:get_last_lr()[1], 0.1 * (1 + math.cos(math.pi * 5.5 / 8)) / 2, 1e-12)
    assert.are.equal(9, s.last_epoch)
    errors("Expected non-negative epoch, but got -1", function() s:step(-1) end)
  end)

  it("resuming with last_epoch needs initial_lr", function()
    local opt = optimizer()
    errors("param 'initial_lr' is not specified in param_groups[1] when resuming scheduler with last_epoch >= 0",
      function() S.StepLR(opt, 3, {last_epoch = 5}) end)
    local opt2 = optimizer()
    S.StepLR(opt2, 3)
    local s = S.StepLR(opt2, 3, {last_epoch = 5}) -- initial_lr now set
    assert.are.equal(6, s.last_epoch)
  end)

  it("OneCycleLR refuses to step past total_steps", function()
    local opt = optimizer()
    local s = S.OneCycleLR(opt, 0.5, {total_steps = 3})
    s:step()
    s:step()
    s:step()
    errors("Tried to step 4 times. The specified number of total steps is 3", function() s:step() end)
  end)

  it("OneCycleLR moves Adam's beta1 and keeps beta2", function()
    local opt = optimizer("Adam")
    S.OneCycleLR(opt, 0.01, {total_steps = 10})
    assert.are.same({0.95, 0.999}, opt.param_groups[1].betas)
  end)

  it("ReduceLROnPlateau accepts a tensor metric", function()
    local opt = optimizer()
    local s = S.ReduceLROnPlateau(opt, {patience = 0})
    s:step(tg.tensor(1.0))
    s:step(tg.tensor(2.0))
    assert_close(s:get_last_lr(), {0.01, 0.005}, 1e-15)
  end)

  it("errors as PyTorch", function()
    local opt = optimizer()
    errors("table is not an Optimizer", function() S.StepLR({}, 3) end)
    errors("StepLR() missing 1 required positional argument: 'step_size'", function() S.StepLR(opt) end)
    errors("StepLR() got an unexpected keyword argument 'gama'", function() S.StepLR(opt, 3, {gama = 0.1}) end)
    errors("StepLR() got multiple values for argument 'step_size'", function() S.StepLR(opt, 3, {step_size = 2}) end)
    errors("Expected 2 lr_lambdas, but got 1", function() S.LambdaLR(opt, {lambdas.pow09}) end)
    errors("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.",
      function() S.LinearLR(opt, {start_factor = 0}) end)
    errors("Ending multiplicative factor expected to be between 0 and 1.",
      function() S.LinearLR(opt, {end_factor = 1.5}) end)
    errors("Constant multiplicative factor expected to be between 0 and 1.",
      function() S.ConstantLR(opt, {factor = 2}) end)
    errors("Expected positive integer T_0, but got 0", function() S.CosineAnnealingWarmRestarts(opt, 0) end)
    errors("Expected integer T_mult >= 1, but got 0", function() S.CosineAnnealingWarmRestarts(opt, 2, {T_mult = 0}) end)
    errors("You must define either total_steps OR (epochs AND steps_per_epoch)", function() S.OneCycleLR(opt, 0.1) end)
    errors("Expected positive integer total_steps, but got 0", function() S.OneCycleLR(opt, 0.1, {total_steps = 0}) end)
    errors("Expected float between 0 and 1 pct_start, but got 1.5",
      function() S.OneCycleLR(opt, 0.1, {total_steps = 10, pct_start = 1.5}) end)
    errors("anneal_strategy must be one of 'cos' or 'linear', instead got exp",
      function() S.OneCycleLR(opt, 0.1, {total_steps = 10, anneal_strategy = "exp"}) end)
    errors("max_lr must have the same length as optimizer.param_groups. max_lr has 3 values, param_groups has 2.",
      function() S.OneCycleLR(opt, {0.1, 0.2, 0.3}, {total_steps = 10}) end)
    local ada = tg.optim.Adagrad({tg.zeros(2, {requires_grad = true})})
    errors("optimizer must support momentum or beta1 with `cycle_momentum` option enabled",
      function() S.OneCycleLR(ada, 0.1, {total_steps = 10}) end)
    errors("Factor should be < 1.0.", function() S.ReduceLROnPlateau(opt, {factor = 1.0}) end)
    errors("mode avg is unknown!", function() S.ReduceLROnPlateau(opt, {mode = "avg"}) end)
    errors("threshold mode rell is unknown!", function() S.ReduceLROnPlateau(opt, {threshold_mode = "rell"}) end)
    errors("expected 2 min_lrs, got 1", function() S.ReduceLROnPlateau(opt, {min_lr = {0.1}}) end)
    errors("mode is invalid and scale_fn is None", function() S.CyclicLR(opt, 0.01, 0.1, {mode = "square"}) end)
    local a = S.StepLR(opt, 2)
    errors("Sequential Schedulers expects number of schedulers provided to be one more than the number of "
      .. "milestone points, but got number of schedulers 1 and the number of milestones to be equal to 1",
      function() S.SequentialLR(opt, {a}, {3}) end)
    errors("SequentialLR does not support `ReduceLROnPlateau` scheduler",
      function() S.SequentialLR(opt, {a, S.ReduceLROnPlateau(opt)}, {3}) end)
    errors("ChainedScheduler expects all schedulers to belong to the same optimizer",
      function() S.ChainedScheduler({a, S.StepLR(optimizer(), 2)}) end)
    errors("ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.",
      function() S.ChainedScheduler({}) end)
  end)

  it("CyclicLR with a custom scale_fn (per cycle, or per iteration)", function()
    local opt = optimizer()
    local s = S.CyclicLR(opt, 0.01, 0.1, {step_size_up = 2, scale_fn = function(x) return 1 / x end})
    local opt2 = optimizer()
    local s2 = S.CyclicLR(opt2, 0.01, 0.1, {step_size_up = 2, mode = "triangular2"})
    for _ = 1, 9 do
      s:step()
      s2:step() -- triangular2 halves per cycle: 1 / 2^(c - 1); 1 / c agrees on cycles 1 and 2
    end
    local opt3 = optimizer()
    local s3 = S.CyclicLR(opt3, 0.01, 0.1, {step_size_up = 2, scale_fn = function() return 0.5 end,
      scale_mode = "iterations"})
    s3:step()
    assert_close(s3:get_last_lr()[1], 0.01 + 0.09 * 0.5 * 0.5, 1e-15)
    -- cycle 3 (epochs 8..11): 1/3 against 1/4
    assert_close(s:get_last_lr()[1], 0.01 + 0.09 * 0.5 / 3, 1e-15)
    assert_close(s2:get_last_lr()[1], 0.01 + 0.09 * 0.5 / 4, 1e-15)
  end)

  it("a group added after the scheduler is a clear error, not a nil lr", function()
    local opt = optimizer()
    local step = S.StepLR(opt, 2) -- works from the groups' lrs: a new group simply follows
    local lambda = S.LambdaLR(opt, lambdas.pow09) -- works from base_lrs: 2 of them
    opt:add_param_group({params = {tg.zeros(1, {requires_grad = true})}, lr = 0.3})
    step:step()
    step:step()
    assert_close(step:get_last_lr(), {0.01, 0.005, 0.03}, 1e-15)
    errors("LambdaLR: the optimizer has 3 parameter groups, the scheduler computed 2 learning rates",
      function() lambda:step() end)
  end)

  it("names the caller's line", function()
    local ok, err = pcall(function() S.StepLR(optimizer()) end)
    assert.is_false(ok)
    assert.truthy(err:find("lr_scheduler_spec.lua:%d+: StepLR%(%) missing"), err)
  end)
end)
