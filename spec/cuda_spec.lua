-- cuda_spec.lua: the CUDA backend (helper cuda; issue 10).
-- Always run: the lazily loaded CUDA object is optional, tg.cuda answers without it,
-- device = "cuda" fails with the reason, and the build produced the object where nvcc exists.
-- On a machine with an NVIDIA GPU: values and gradients on CUDA against the CPU result.
-- Without a device the device part reports itself pending with the reason.
local tg = require "tgrad"
local H = require "support.helpers"

local available = tg.cuda.is_available()
local reason = tg.cuda._unavailable_reason()

local function nvcc_path()
  if os.getenv("CUDA") == "0" then return nil end
  local home = os.getenv("CUDA_HOME") or "/usr/local/cuda"
  local f = io.open(home .. "/bin/nvcc")
  if f then f:close() return home .. "/bin/nvcc" end
  local p = io.popen("command -v nvcc 2>/dev/null")
  local out = p and p:read("*l")
  if p then p:close() end
  return out ~= "" and out or nil
end

describe("tg.cuda without a usable device", function()
  it("is_available() is a boolean and the reason is a sentence exactly when it is false", function()
    assert.is_boolean(available)
    if available then
      assert.is_nil(reason)
      assert.is_true(tg.cuda.device_count() >= 1)
    else
      assert.is_string(reason)
      assert.is_true(#reason > 10)
      assert.equal(0, tg.cuda.device_count())
      assert.equal(0, tg.cuda.memory_allocated())
      assert.equal(0, tg.cuda.memory_reserved())
      tg.cuda.empty_cache() -- nothing to release, no error
    end
  end)

  it("t:cuda(), t:to('cuda') and device = 'cuda' name the reason instead of crashing", function()
    if available then return pending("a CUDA device is present") end
    local t = tg.ones(3)
    H.errors("device 'cuda' is not available: " .. reason, function() return t:cuda() end)
    H.errors("device 'cuda:0' is not available: " .. reason, function() return t:cuda(0) end)
    H.errors("device 'cuda' is not available: " .. reason, function() return t:to("cuda") end)
    H.errors("device 'cuda' is not available: " .. reason, function() return tg.zeros({2, 2}, {device = "cuda"}) end)
    H.errors("device 'cuda:0' is not available", function() return tg.ones(2, {device = "cuda:0"}) end)
    H.errors("CUDA", function() return tg.cuda.synchronize() end)
    H.errors("CUDA", function() return tg.cuda.current_device() end)
    -- the cpu keeps working
    assert.equal(t, t:cpu())
    assert.equal(t, t:to("cpu"))
    H.assert_close(t + 1, {2, 2, 2})
  end)
end)

describe("the CUDA object", function()
  local nvcc = nvcc_path()
  if not nvcc then
    pending("nvcc not found (or CUDA=0): the CUDA object is not built here")
    return
  end
  it("was built next to tgrad.so where nvcc exists (" .. nvcc .. ")", function()
    local path = package.searchpath("tgrad.cuda_backend", package.cpath)
    assert.is_string(path, "tgrad/cuda_backend.so not on package.cpath: `make` should build it when nvcc exists")
  end)
  it("loads (no missing symbol or library); only the driver or device can be missing", function()
    if available then return end
    assert.is_nil(reason:find("module is missing", 1, true), reason)
    assert.is_nil(reason:find("could not be loaded", 1, true), reason)
    assert.is_nil(reason:find("lacks its entry points", 1, true), reason)
    assert.truthy(reason:find("no CUDA device", 1, true), reason)
  end)
end)

describe("on the CUDA device (values and gradients against the CPU)", function()
  if not available then
    pending("no CUDA device: " .. reason:gsub("^no CUDA device: ", ""))
    return
  end
  local dtypes = {{tg.float32, 1e-5}, {tg.float64, 1e-12}}

  it("copies to the device and back: odd sizes, empty, non-contiguous, every dtype", function()
    for _, dt in ipairs({tg.float32, tg.float64, tg.int64, tg.bool}) do
      local x = (tg.rand({7, 13}) * 10):to(dt)
      local y = x:cuda()
      assert.equal("cuda", y.device)
      assert.same(x:tolist(), y:cpu():tolist())
      assert.same(x:t():tolist(), x:t():cuda():cpu():tolist())
    end
    local e = tg.zeros({0, 3}):cuda()
    assert.same({0, 3}, e:cpu():size())
  end)

  it("a strided device tensor comes back right; item, tolist and printing copy back", function()
    local x = tg.randn({4, 6}, {dtype = tg.float64})
    local y = x:cuda()
    assert.same(x:t():tolist(), y:t():cpu():tolist())
    assert.same(x:t():tolist(), y:t():tolist())
    assert.equal(x[2][3]:item(), y[2][3]:item())
    assert.truthy(tostring(y):find("device='cuda'", 1, true))
  end)

  it("unary ops match the CPU (float32, float64), also on transposed inputs", function()
    local ops = {"neg", "exp", "log", "log1p", "sqrt", "abs", "sign", "sigmoid", "tanh", "relu", "expm1", "rsqrt",
                 "sin", "cos", "tan", "silu", "erf", "floor", "ceil", "round", "trunc", "reciprocal", "square"}
    for _, d in ipairs(dtypes) do
      local x = tg.rand({9, 17}, {dtype = d[1]}) * 4 + 0.1
      for _, op in ipairs(ops) do
        H.assert_close(x:cuda()[op](x:cuda()):cpu(), x[op](x), d[2])
        H.assert_close(x:cuda():t()[op](x:cuda():t()):cpu(), x:t()[op](x:t()), d[2])
      end
    end
  end)

  it("binary ops broadcast and match the CPU; comparisons give bool", function()
    for _, d in ipairs(dtypes) do
      local a = tg.randn({3, 1, 5}, {dtype = d[1]})
      local b = tg.randn({4, 5}, {dtype = d[1]}) + 2
      local ca, cb = a:cuda(), b:cuda()
      H.assert_close((ca + cb):cpu(), a + b, d[2])
      H.assert_close((ca - cb):cpu(), a - b, d[2])
      H.assert_close((ca * cb):cpu(), a * b, d[2])
      H.assert_close((ca / cb):cpu(), a / b, d[2])
      H.assert_close(tg.maximum(ca, cb):cpu(), tg.maximum(a, b), d[2])
      H.assert_close(tg.atan2(ca, cb):cpu(), tg.atan2(a, b), d[2])
      assert.same(tg.lt(a, b):tolist(), tg.lt(ca, cb):cpu():tolist())
      assert.equal(tg.bool, tg.lt(ca, cb).dtype)
      -- Lua numbers and 0-d cpu tensors join the device; mixed dtypes promote there
      H.assert_close((ca * 2 + 0.5):cpu(), a * 2 + 0.5, d[2])
      H.assert_close((ca - tg.tensor(3.0)):cpu(), a - 3, d[2])
      H.assert_close((ca + cb:double()):cpu(), a + b:double(), d[2])
      assert.equal(tg.float64, (ca + cb:double()).dtype)
    end
  end)

  it("mm / bmm through cuBLAS match the CPU, with transposed operands", function()
    for _, d in ipairs(dtypes) do
      local a, b = tg.randn({17, 9}, {dtype = d[1]}), tg.randn({9, 11}, {dtype = d[1]})
      H.assert_close(a:cuda():mm(b:cuda()):cpu(), a:mm(b), d[2] * 10)
      local at = tg.randn({9, 17}, {dtype = d[1]})
      H.assert_close(at:cuda():t():mm(b:cuda()):cpu(), at:t():mm(b), d[2] * 10)
      local p, q = tg.randn({3, 5, 7}, {dtype = d[1]}), tg.randn({3, 7, 2}, {dtype = d[1]})
      H.assert_close(p:cuda():bmm(q:cuda()):cpu(), p:bmm(q), d[2] * 10)
    end
  end)

  it("gradients flow through the device and back (float64)", function()
    local x = tg.randn({5, 7}, {dtype = tg.float64, requires_grad = true})
    local w = tg.randn({5, 7}, {dtype = tg.float64})
    local y = (x:cuda():exp() * w:cuda()):cpu()
    y:sum():backward()
    assert.equal("cpu", x.grad.device)
    H.assert_close(x.grad, x:detach():exp() * w, 1e-12)
  end)

  it("mixing devices fails with PyTorch's text", function()
    H.errors("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
             function() return tg.ones(2):cuda() + tg.ones(2) end)
  end)

  it("the caching allocator counts, reuses and empties", function()
    tg.cuda.empty_cache()
    local base = tg.cuda.memory_allocated()
    local t = tg.ones({1024, 1024}):cuda()
    assert.is_true(tg.cuda.memory_allocated() >= base + 4 * 1024 * 1024)
    assert.is_true(tg.cuda.max_memory_allocated() >= tg.cuda.memory_allocated())
    t = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.equal(base, tg.cuda.memory_allocated())
    assert.is_true(tg.cuda.memory_reserved() > 0)
    tg.cuda.empty_cache()
    assert.equal(tg.cuda.memory_allocated(), tg.cuda.memory_reserved())
  end)
end)
