-- gc_gen_spec.lua (helper cnn): the collector policy under Lua 5.4's generational
-- collector (the lua5.4 interpreter's default): minor collections free young boxes
-- only, so activations that outlived two minors used to pile up until the host's
-- next full collection (50 MB after 200 small conv steps here, without bound).
-- tgrad now runs a major when the live tensor bytes pass twice their value after
-- the last one (16 MiB at least); under an incremental collector it forces nothing.
local tg = require "tgrad"
local F = tg.F

local function conv_steps(n)
  local w = tg.randn(8, 4, 3, 3, {requires_grad = true})
  local x = tg.randn(8, 4, 32, 32)
  collectgarbage("collect")
  local base, peak = tg.memory_allocated(), 0
  for _ = 1, n do -- about 450 KB of activations and gradients a step
    local loss = F.max_pool2d(F.relu(F.conv2d(x, w, nil, {padding = 1})), 2):sum()
    loss:backward()
    w.grad = nil
    peak = math.max(peak, tg.memory_allocated() - base)
  end
  return peak
end

describe("the collector policy under a generational collector", function()
  local mode
  before_each(function() mode = collectgarbage("generational") end)
  after_each(function() collectgarbage(mode) end)

  it("keeps tensor memory bounded over a training loop (activations that grew old)", function()
    local peak = conv_steps(150) -- 67 MB allocated; 37 MB stayed before
    assert.is_true(peak < 24 * 2 ^ 20, "tensor bytes grew to " .. peak)
    assert.are.equal("generational", collectgarbage("generational")) -- the host's mode is kept
  end)

  it("leaves a stopped collector stopped", function()
    collectgarbage("collect")
    collectgarbage("stop")
    local before = tg.get_gc_policy().majors
    conv_steps(60)
    assert.are.equal(before, tg.get_gc_policy().majors)
    assert.is_false(collectgarbage("isrunning"))
    collectgarbage("restart")
  end)
end)

describe("the collector policy under an incremental collector", function()
  local mode
  before_each(function() mode = collectgarbage("incremental") end)
  after_each(function() collectgarbage(mode) end)

  it("forces no major and stays incremental, with memory bounded by its steps", function()
    local before = tg.get_gc_policy().majors
    local peak = conv_steps(150)
    assert.is_true(peak < 24 * 2 ^ 20, "tensor bytes grew to " .. peak)
    assert.are.equal(before, tg.get_gc_policy().majors)
    assert.are.equal("incremental", collectgarbage("incremental"))
  end)

  it("reports majors in the policy and accepts the table back", function()
    local p = tg.get_gc_policy()
    assert.are.equal("number", type(p.majors))
    local prev = tg.set_gc_policy(p)
    assert.are.equal(p.majors, prev.majors)
  end)
end)
