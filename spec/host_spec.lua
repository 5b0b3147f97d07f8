-- host_spec.lua: tgrad inside someone else's process. The collector policy
-- (incremental steps sized by tensor bytes, a stopped collector left alone),
-- tensor memory (live bytes, a limit, releasing early), the allocator hook
-- with a failing allocator swept over a training step, threads, and the
-- hints of the error texts.
local tg = require "tgrad"
local F = tg.nn.functional

local function errors(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error containing: " .. text)
  assert(tostring(err):find(text, 1, true), ("error %q does not contain %q"):format(tostring(err), text))
  return err
end

describe("the collector policy", function()
  local saved
  before_each(function() saved = tg.get_gc_policy() end)
  after_each(function()
    tg.set_gc_policy({enabled = saved.enabled, scale = saved.scale, step = saved.step})
    collectgarbage("restart")
  end)

  it("has documented defaults and returns the previous policy", function()
    local p = tg.get_gc_policy()
    assert.is_true(p.enabled)
    assert.are.equal(4, p.scale)
    assert.are.equal(256 * 1024, p.step)
    local prev = tg.set_gc_policy({scale = 2, step = 1024 * 1024})
    assert.are.equal(4, prev.scale)
    local now = tg.get_gc_policy()
    assert.are.equal(2, now.scale)
    assert.are.equal(1024 * 1024, now.step)
  end)

  it("rejects bad settings", function()
    errors("unexpected keyword argument 'pause'", tg.set_gc_policy, {pause = 3})
    errors("'scale' must be a number", tg.set_gc_policy, {scale = -1})
    errors("'scale' must be a number", tg.set_gc_policy, {scale = 0 / 0})
    errors("'step' must be an integer", tg.set_gc_policy, {step = 10})
    errors("'enabled' must be a boolean", tg.set_gc_policy, {enabled = "yes"})
    errors("table expected", tg.set_gc_policy, 3)
  end)

  it("takes incremental steps sized by tensor bytes, never a full collection", function()
    local before = tg.get_gc_policy()
    for _ = 1, 40 do local _ = tg.zeros(64 * 1024) + 1 end -- 256 KiB per tensor
    local after = tg.get_gc_policy()
    assert.is_true(after.steps > before.steps)
    assert.are.equal(before.full_collections, after.full_collections)
  end)

  it("leaves a stopped collector stopped", function()
    collectgarbage("collect")
    collectgarbage("stop")
    local cycles = 0
    setmetatable({}, {__gc = function() cycles = cycles + 1 end})
    local before = tg.get_gc_policy().steps
    for _ = 1, 200 do local _ = tg.zeros(64 * 1024) * 2 end -- 100 MB of garbage
    assert.are.equal(before, tg.get_gc_policy().steps)
    assert.are.equal(0, cycles)
    assert.is_false(collectgarbage("isrunning"))
    collectgarbage("restart")
    collectgarbage("collect")
    assert.are.equal(1, cycles)
  end)

  it("can be disabled: tensor bytes then do not drive the collector", function()
    tg.set_gc_policy({enabled = false})
    local before = tg.get_gc_policy().steps
    for _ = 1, 40 do local _ = tg.zeros(64 * 1024) + 1 end
    assert.are.equal(before, tg.get_gc_policy().steps)
  end)

  it("counts every new tensor, whichever function made it (creation, unary minus)", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    local peak = 0
    for _ = 1, 2000 do
      local _ = tg.zeros(64 * 1024) -- 256 KiB
      local _ = -tg.ones(1000)
      peak = math.max(peak, tg.memory_allocated() - base)
    end
    assert.is_true(peak < 64 * 1024 * 1024, "tensor bytes grew to " .. peak) -- 500 MB were allocated
  end)

  it("keeps memory flat over 10,000 training-like iterations without collectgarbage()", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    local w = tg.randn(16, 8, {requires_grad = true})
    local b = tg.zeros(8, {requires_grad = true})
    local x = tg.randn(32, 16)
    local target = tg.randint(1, 9, {32})
    local peak_tensor, peak_lua = 0, 0
    for i = 1, 10000 do
      local loss = F.cross_entropy(x:mm(w) + b, target)
      loss:backward()
      tg.no_grad(function()
        w:sub_(w.grad * 0.01)
        b:sub_(b.grad * 0.01)
      end)
      w.grad, b.grad = nil, nil
      if i > 1000 then
        peak_tensor = math.max(peak_tensor, tg.memory_allocated() - base)
        peak_lua = math.max(peak_lua, collectgarbage("count"))
      end
    end
    -- a step makes ~30 tensors of a few hundred bytes: bounded by a few MB
    assert.is_true(peak_tensor < 4 * 1024 * 1024, "tensor bytes grew to " .. peak_tensor)
    assert.is_true(peak_lua < 64 * 1024, "the Lua heap grew to " .. peak_lua .. " KB")
  end)
end)

describe("tensor memory", function()
  after_each(function() tg.set_memory_limit(nil) end)

  it("memory_allocated counts live tensor bytes; t:free() releases them at once", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    local t = tg.zeros(1000, {dtype = tg.float64})
    assert.are.equal(base + 8000, tg.memory_allocated())
    local v = t:narrow(1, 1, 10)
    v:free() -- a view: its base keeps the memory
    assert.are.equal(base + 8000, tg.memory_allocated())
    v:free() -- twice is fine
    t:free()
    assert.are.equal(base, tg.memory_allocated())
    errors("the tensor has been freed", function() return t:sum() end)
    errors("the tensor has been freed", function() return t + 1 end)
    errors("the tensor has been freed", function() return v.shape end)
    assert.is_true(tg.max_memory_allocated() >= base + 8000)
  end)

  it("a <close> variable releases its tensor at the end of the block", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    local keep
    do
      local t <close> = tg.ones(256)
      keep = t
      assert.are.equal(base + 1024, tg.memory_allocated())
    end
    assert.are.equal(base, tg.memory_allocated())
    errors("the tensor has been freed", function() return keep:sum() end)
  end)

  it("set_memory_limit: past it is a clean 'out of memory' error naming the bytes; the state stays usable", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    tg.set_memory_limit(base + 4096)
    assert.are.equal(base + 4096, tg.get_memory_limit())
    local small = tg.zeros(512) -- 2048 bytes fit
    local err = errors("out of memory: tried to allocate 8000 bytes", tg.zeros, 1000, {dtype = tg.float64})
    assert.truthy(tostring(err):find("limit of " .. (base + 4096) .. " bytes", 1, true), err)
    errors("out of memory", function() return small:expand(4, 512):contiguous() end)
    tg.set_memory_limit(nil)
    assert.is_nil(tg.get_memory_limit())
    assert.are.equal(8000, tg.zeros(1000, {dtype = tg.float64}):numel() * 8)
    assert.are.equal(512, (small + 1):sum():item())
  end)

  it("garbage is collected before the limit refuses an allocation", function()
    collectgarbage("collect")
    tg.set_memory_limit(tg.memory_allocated() + 3 * 1024 * 1024)
    collectgarbage("stop") -- even so: an allocation failure runs one full collection
    local before = tg.get_gc_policy().full_collections
    for _ = 1, 20 do local _ = tg.zeros(256 * 1024) end -- 1 MB each, all garbage
    assert.is_true(tg.get_gc_policy().full_collections > before)
    collectgarbage("restart")
  end)

  it("rejects a bad limit", function()
    errors("set_memory_limit", tg.set_memory_limit, "lots")
    errors("set_memory_limit", tg.set_memory_limit, -1)
  end)
end)

describe("allocation failure", function()
  -- a small training step: every tensor allocation goes through the test allocator
  local function step()
    local w = tg.randn(6, 4, {dtype = tg.float64, requires_grad = true})
    local x = tg.randn(5, 6, {dtype = tg.float64})
    local target = tg.tensor({1, 2, 3, 4, 1})
    local h = (x:mm(w)):tanh()
    local loss = F.cross_entropy(h, target) + (w * w):sum() * 1e-3
    loss:backward()
    tg.no_grad(function() w:sub_(w.grad * 0.1) end)
    local s = w:sum():item()
    assert(s == s)
    return s
  end

  it("fails every allocation of a training step in turn: a Lua error each time, no leak, the state usable", function()
    collectgarbage("collect")
    local base = tg.memory_allocated()
    tg._test_allocator(0)
    step()
    local n = tg._test_allocator_stats().count
    tg._test_allocator(false)
    assert.is_true(n > 20, "the step allocates " .. n .. " times")
    local failures = 0
    for k = 1, n do
      tg._test_allocator(k)
      local ok, err = pcall(step)
      local stats = tg._test_allocator(false)
      assert.is_true(stats.failed >= 1)
      assert.is_false(ok)
      failures = failures + 1
      assert.truthy(tostring(err):find("out of memory", 1, true), tostring(err))
      collectgarbage("collect")
      collectgarbage("collect")
      assert.are.equal(base, tg.memory_allocated(), "allocation " .. k .. " leaked tensor memory")
      -- the state stays usable
      assert.are.equal(6, (tg.ones(2, 3)):sum():item())
    end
    assert.are.equal(n, failures)
  end)

  it("one failed allocation is recovered by a full collection and a retry", function()
    for _, k in ipairs({1, 5, 17}) do
      local before = tg.get_gc_policy().full_collections
      tg._test_allocator(k, 1)
      step()
      local stats = tg._test_allocator(false)
      assert.are.equal(1, stats.failed)
      assert.are.equal(before + 1, tg.get_gc_policy().full_collections)
    end
  end)

  it("every block of the host's allocator comes back", function()
    collectgarbage("collect")
    tg._test_allocator(0)
    for _ = 1, 3 do step() end
    collectgarbage("collect")
    collectgarbage("collect")
    local stats = tg._test_allocator_stats()
    assert.are.equal(0, stats.live_blocks)
    assert.are.equal(0, stats.live_bytes)
    tg._test_allocator(false)
  end)
end)

describe("threads", function()
  local lua = arg and arg[-1] or "lua5.4"
  local function threads_in(env)
    local cmd = ("%s lua5.4 -e 'io.write(require(\"tgrad\").get_num_threads())' 2>&1"):format(env)
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    return out
  end
  local _ = lua

  it("the default follows OMP_NUM_THREADS", function()
    assert.are.equal("3", threads_in("OMP_NUM_THREADS=3"))
    assert.are.equal("2", threads_in("OMP_NUM_THREADS=2,1"))
  end)

  it("the default follows the process's CPU affinity, not the machine's core count", function()
    if not os.execute("command -v taskset >/dev/null 2>&1") then return pending("taskset is missing") end
    assert.are.equal("1", threads_in("env -u OMP_NUM_THREADS taskset -c 0"))
  end)

  it("set_num_threads checks its argument", function()
    local n = tg.get_num_threads()
    errors("between 1 and 1024, got 100000", tg.set_num_threads, 100000)
    errors("between 1 and 1024, got 4294967296", tg.set_num_threads, 2 ^ 32 // 1)
    errors("between 1 and 1024, got 0", tg.set_num_threads, 0)
    errors("an integer expected, got a float", tg.set_num_threads, 1.5)
    errors("an integer expected, got no value", tg.set_num_threads)
    assert.are.equal(n, tg.get_num_threads())
    tg.set_num_threads(1)
    assert.are.equal(1, tg.get_num_threads())
    tg.set_num_threads(n)
  end)
end)

describe("error hints for Lua users", function()
  it("a method called with '.' instead of ':' says so", function()
    local t = tg.ones(2, {requires_grad = true}):sum()
    errors("bad argument #1 to 'backward' (expected Tensor but got no value; did you call t.backward() instead of t:backward()?)",
      function() return t.backward() end)
    errors("did you call t.sum() instead of t:sum()?", function() return t.sum() end)
    -- tg's own function of the same name gives no such hint
    local err = errors("bad argument #1 to 'sum' (expected Tensor but got nil)", function() return tg.sum(nil) end)
    assert.falsy(tostring(err):find("did you call", 1, true))
    -- nor does a method call with a bad second argument
    err = errors("bad argument #2 to 'mm' (expected Tensor but got string)", function() return t:mm("x") end)
    assert.falsy(tostring(err):find("did you call", 1, true))
  end)

  it("cross_entropy and nll_loss with target 0 say targets are 1-based", function()
    errors("targets are 1-based", F.cross_entropy, tg.randn(2, 3), tg.tensor({0, 1}))
    errors("targets are 1-based", F.nll_loss, tg.randn(2, 3), tg.tensor({1, 0}))
    local err = errors("Target 4 is out of bounds.", F.cross_entropy, tg.randn(2, 3), tg.tensor({4, 1}))
    assert.falsy(tostring(err):find("1-based", 1, true))
  end)
end)

describe("the build never touches the system", function()
  -- shims for apt-get and dpkg-query that leave a mark when run
  local function with_shims(cmd)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local mark = dir .. "/ran"
    for _, tool in ipairs({"apt-get", "dpkg-query", "apt"}) do
      local f = assert(io.open(dir .. "/" .. tool, "w"))
      f:write("#!/bin/sh\necho " .. tool .. " >> " .. mark .. "\nexit 1\n")
      f:close()
      os.execute("chmod +x " .. dir .. "/" .. tool)
    end
    local p = io.popen(("PATH=%s:$PATH %s 2>&1"):format(dir, cmd))
    local out = p:read("a")
    p:close()
    local f = io.open(mark)
    local ran = f and f:read("a") or ""
    if f then f:close() end
    os.execute("rm -rf " .. dir)
    return ran, out
  end

  it("make -s env, make -n clean, make -n (the rock's build) and make -n install run no package tool", function()
    for _, cmd in ipairs({"make -s env", "make -n clean", "make -n", "make -n install PREFIX=/tmp/x"}) do
      local ran, out = with_shims(cmd)
      assert.are.equal("", ran, cmd .. " ran " .. ran .. out)
    end
    local ran, out = with_shims("make -n all")
    assert.are.equal("", ran)
    assert.falsy(out:find("deps.sh", 1, true), out)
  end)

  it("tgrad.pc describes the static library for pkg-config", function()
    local f = assert(io.open("tools/tgrad.pc.in"))
    local pc = f:read("a")
    f:close()
    assert.truthy(pc:find("Libs: -L${libdir} -ltgrad", 1, true))
    -- the chosen BLAS (make BLAS=...), substituted by the Makefile: openblas by default
    assert.truthy(pc:find("Requires: lua5.4 @BLAS_PC@", 1, true))
    local mk = assert(io.open("Makefile")):read("a")
    assert.truthy(mk:find("ifeq ($(BLAS),openblas)\nBLAS_PC  := openblas", 1, true))
    assert.truthy(mk:find("s|@BLAS_PC@|$(BLAS_PC)|", 1, true))
  end)
end)

-- Crashes tools/fuzz.lua found (each a bug class of issue 9): the minimised
-- reproducers, each in a child interpreter, must end in a Lua error or a result
-- and never in a signal or a hang (tools/fuzz.lua probes the same classes).
describe("fuzz findings", function()
  local function child(code)
    local root = debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/[^/]*$") or "."
    local f = io.popen(("cd '%s' && LUA_CPATH='%s/?.so;;' timeout 60 lua5.4 -e %q 2>&1; echo \"rc=$?\"")
      :format(root, root, "local tg = require 'tgrad'; " .. code))
    local out = f:read("a")
    f:close()
    return tonumber(out:match("rc=(%d+)%s*$")), out
  end
  for name, code in pairs({
    empty = "print(pcall(function() tg.zeros(3, 0):sum(1); tg.mm(tg.zeros(0, 0), tg.zeros(0, 3)); "
      .. "tg.zeros(0, 1, {requires_grad = true}):expand(0, 3):sum():backward() end))",
    nil_inputs = "local w = tg.ones(2, {requires_grad = true}); print(pcall(function() "
      .. "(w * 2):sum():backward(nil, {inputs = {nil, w}}) end))",
    huge_len = "print(pcall(tg.tensor, setmetatable({}, {__len = function() return math.maxinteger end})))",
    huge_len_empty_rows = "print(pcall(tg.tensor, setmetatable({}, {__len = function() return 2^40 // 1 end, "
      .. "__index = function() return {} end})))",
    huge_len_fake_rows = "print(pcall(tg.tensor, setmetatable({}, {__len = function() return 2^31 // 1 end, "
      .. "__index = function() return 1 end})))",
    huge_size = "print(pcall(function() return tg.zeros(0):view(math.maxinteger, 0, math.maxinteger) end)); "
      .. "print(pcall(tg.eye, math.maxinteger, math.maxinteger)); print(pcall(function() return tg.zeros(0, 2):chunk(2^40 // 1, 1) end))",
    uaf_retain = "local x = tg.ones(3, {requires_grad = true}); local y = x * 2; y:retain_grad(); local z = y * 3; "
      .. "print(pcall(function() y:detach_() end)); y = nil; collectgarbage(); z:sum():backward(); print(x.grad)",
  }) do
    it(name .. " ends cleanly", function()
      local rc, out = child(code)
      assert(rc == 0, name .. ": exit " .. tostring(rc) .. "\n" .. out)
    end)
  end
end)
