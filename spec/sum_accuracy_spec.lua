-- sum_accuracy_spec.lua: the float32 cascade sum (src/backend/cpu/cpu_sum.c;
-- helper kern, issue 11) against an exact float64 reference and against
-- PyTorch's float32 results on the same adversarial inputs
-- (spec/fixtures/sum_accuracy.lua, written by tools/gen_sum_accuracy_fixtures.py),
-- then sum/mean for every dtype, odd sizes that leave vector tails,
-- non-contiguous views, empty and 0-d tensors, and thread counts.
local tg = require "tgrad"
local FX = dofile("spec/fixtures/sum_accuracy.lua")

local M = 2147483647

-- the generator's recipe (see the fixture script), in exact int64/float64 arithmetic
local function uniform(n, seed)
  local i = tg.arange(0, n)
  local t = (i * i) % M
  t = (t * 48271 + i * 69621 + seed) % M
  t = (t * t) % M
  return (t:to(tg.float64) + 0.5) / M
end

local function normal(n, seed)
  local z = uniform(n, seed)
  for k = 1, 3 do
    z = z + uniform(n, seed + k)
    collectgarbage() -- 1e7 int64 temporaries are 80 MB each
  end
  local x = ((z - 2.0) * math.sqrt(3.0)):to(tg.float32)
  z = nil
  collectgarbage()
  return x
end

local function alternating(n) -- 1e8, 1, -1e8, 1, ...
  local v = (tg.arange(0, n) % 4):to(tg.float64)
  local odd = v % 2
  return (odd + (1 - odd) * (1 - v) * 1e8):to(tg.float32)
end

local structured = {
  ones_1e7 = function() return tg.ones(10000000) end,
  ones_plus_offset_1e7 = function() return tg.full({10000000}, 1025.0) end,
  offset_then_ones_1e7 = function()
    local x = tg.ones(10000001)
    x[1] = 1e8
    return x
  end,
  alternating_1e6 = function() return alternating(1000000) end,
  alternating_shifted_1e6 = function() return alternating(1000001):narrow(1, 2, 1000000):contiguous() end,
  alternating_odd_1e6 = function() return alternating(1000003) end,
}
-- groups of seeds (the fixture script's): name, count, size, first seed, offset
local groups = {
  {"normal_1e6", 8, 1000000, 100, 0},
  {"normal_1e7", 3, 10000000, 200, 0},
  {"normal_plus_100_1e6", 4, 1000000, 300, 100},
  {"normal_4097", 8, 4097, 400, 0},
  {"normal_65537", 8, 65537, 500, 0},
}

local function with_threads(n, fn)
  local old = tg.get_num_threads()
  tg.set_num_threads(n)
  local ok, err = pcall(fn)
  tg.set_num_threads(old)
  if not ok then error(err, 0) end
end

-- the input is the one PyTorch summed: its float64 sum matches the exact sum
local function check_input(x, case)
  assert.equal(case.n, x:numel())
  assert.is_true(math.abs(x:to(tg.float64):sum():item() - case.ref) <= 1e-12 * math.max(1, math.abs(case.ref)))
end

-- the float32 nearest to v
local function f32(v) return tg.tensor(v):item() end

local function check_mean(x, s)
  -- mean is the sum times 1/n: at most an ulp or two from sum / n
  local m, want = x:mean():item(), s / x:numel()
  assert.is_true(math.abs(m - want) <= 2 * 2 ^ -23 * math.abs(want) + 1e-38)
end

describe("float32 sum accuracy vs PyTorch (fixtures)", function()
  local names = {}
  for name in pairs(structured) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local case = FX.full[name]
    it(name .. ": the error is no worse than PyTorch's, on 1, 2 and 3 threads", function()
      collectgarbage()
      local x = structured[name]()
      check_input(x, case)
      local torch_err = math.abs(case.torch_sum - case.ref)
      for _, nt in ipairs({1, 2, 3}) do
        with_threads(nt, function()
          local s = x:sum()
          assert.equal(tg.float32, s.dtype)
          local err = math.abs(s:item() - case.ref)
          assert.is_true(err <= torch_err,
            string.format("%s, %d threads: error %.6g > PyTorch's %.6g", name, nt, err, torch_err))
          -- and within one float ulp of the exact sum (PyTorch: up to 4 ulp here, 375000 off on alternating)
          assert.is_true(err <= 2 ^ -23 * math.abs(case.ref), name)
          check_mean(x, s:item())
        end)
      end
    end)
  end
  it("ones, 1025s and alternating magnitudes give the float nearest the exact sum", function()
    assert.equal(10000000, structured.ones_1e7():sum():item())
    assert.equal(f32(10250000000.0), structured.ones_plus_offset_1e7():sum():item()) -- 10250000384
    assert.equal(500000, structured.alternating_1e6():sum():item())
    assert.equal(500000, structured.alternating_shifted_1e6():sum():item())
    assert.equal(500001, structured.alternating_odd_1e6():sum():item())
  end)

  for _, g in ipairs(groups) do
    local name, count, n, seed0, offset = table.unpack(g)
    it(string.format("%s: RMS error over %d seeds no worse than PyTorch's (or than rounding the exact sum)",
      name, count), function()
      local xs = {}
      local te, re = 0, 0
      for k = 0, count - 1 do
        local case = FX.full[string.format("%s_s%d", name, k)]
        local x = normal(n, seed0 + 4 * k)
        if offset ~= 0 then x = x + offset end
        check_input(x, case)
        xs[k + 1] = {x, case}
        te = te + (case.torch_sum - case.ref) ^ 2
        re = re + (f32(case.ref) - case.ref) ^ 2
      end
      local bound = math.sqrt(math.max(te, re) / count)
      for _, nt in ipairs({1, 2}) do
        with_threads(nt, function()
          local e = 0
          for _, xc in ipairs(xs) do
            local s = xc[1]:sum():item()
            e = e + (s - xc[2].ref) ^ 2
            check_mean(xc[1], s)
          end
          local rms = math.sqrt(e / count)
          assert.is_true(rms <= bound,
            string.format("%s, %d threads: RMS error %.6g > PyTorch's %.6g", name, nt, rms, bound))
        end)
      end
    end)
  end
end)

describe("float32 sum over one dim vs PyTorch (fixtures)", function()
  local dnames = {}
  for name in pairs(FX.dims) do dnames[#dnames + 1] = name end
  table.sort(dnames)
  for _, name in ipairs(dnames) do
    local case = FX.dims[name]
    it(name .. ": max and RMS error over the rows no worse than PyTorch's", function()
      local x = (normal(case.rows * case.cols, 51) + 10):view(case.rows, case.cols)
      local ref = x:to(tg.float64):sum(case.dim)
      for _, view in ipairs({"contiguous", "transposed"}) do
        local xv, dim = x, case.dim
        if view == "transposed" then xv, dim = x:t():contiguous():t(), case.dim end -- same values, other strides
        local err = (xv:sum(dim):to(tg.float64) - ref):abs()
        local maxe, rms = err:max():item(), math.sqrt((err * err):mean():item())
        assert.is_true(maxe <= case.torch_max_err,
          string.format("%s %s: max error %.6g > PyTorch's %.6g", name, view, maxe, case.torch_max_err))
        assert.is_true(rms <= case.torch_rms_err,
          string.format("%s %s: RMS error %.6g > PyTorch's %.6g", name, view, rms, case.torch_rms_err))
      end
    end)
  end
end)

-- float64 reference of a float32 tensor's sum
local function ref64(x) return x:to(tg.float64):sum():item() end

describe("float32 sum: sizes, views, shapes", function()
  it("odd sizes around the vector width and the cascade block agree with float64", function()
    for _, n in ipairs({1, 2, 3, 7, 8, 9, 15, 31, 63, 64, 65, 127, 511, 1023, 1024, 1025, 2047, 2049, 4095,
                        4096, 4097, 65535, 65537, 131071, 131073, 262145, 1000003}) do
      local x = normal(n, n)
      local s, r = x:sum():item(), ref64(x)
      local abssum = x:abs():to(tg.float64):sum():item()
      -- the cascade's bound: a few dozen ulp of sum |x|; in practice far less
      assert.is_true(math.abs(s - r) <= 32 * 2 ^ -24 * abssum + 1e-30, "n = " .. n)
      assert.near(r / n, x:mean():item(), 2 ^ -22 * abssum / n + 1e-30)
    end
  end)

  it("non-contiguous views: strided, transposed, narrowed, expanded", function()
    local x = normal(3 * 1001 * 7, 5):view(3, 1001, 7)
    local cases = {
      x:transpose(1, 3),
      x:narrow(2, 2, 999),
      x:select(3, 4),
      x:view(-1):narrow(1, 1, 3 * 1001 * 7 - 1),
      x[{{}, {}, 2}],
      tg.tensor({1.5, -2.25, 3.0}):expand(4097, 3),
    }
    for k, v in ipairs(cases) do
      local r = v:contiguous():to(tg.float64):sum():item()
      assert.near(r, v:sum():item(), 1e-5 * (1 + math.abs(r)), "case " .. k)
      local rd = v:contiguous():to(tg.float64):sum(1)
      local d = (v:sum(1):to(tg.float64) - rd):abs():max():item()
      assert.is_true(d <= 1e-4 * (1 + rd:abs():max():item()), "case " .. k .. " dim 1")
    end
  end)

  it("empty and 0-d tensors", function()
    assert.equal(0, tg.empty(0):sum():item())
    assert.is_true(tg.empty(0):mean():item() ~= tg.empty(0):mean():item()) -- nan, as PyTorch
    assert.same({3}, tg.empty(3, 0):sum(2).shape)
    assert.same({0, 0, 0}, tg.empty(3, 0):sum(2):tolist())
    assert.same({0}, tg.empty(0, 4):sum(2).shape)
    local z = tg.tensor(2.5)
    assert.equal(2.5, z:sum():item())
    assert.equal(2.5, z:mean():item())
    assert.same({}, z:sum().shape)
  end)

  it("sum and mean over inner, outer and middle dims, keepdim, vs float64", function()
    local x = normal(5 * 333 * 129, 9):view(5, 333, 129)
    for _, dims in ipairs({{1}, {2}, {3}, {1, 3}, {2, 3}, {1, 2}}) do
      local s = x:sum(dims)
      local r = x:to(tg.float64):sum(dims)
      assert.is_true((s:to(tg.float64) - r):abs():max():item() < 1e-3, table.concat(dims, ","))
      local m = x:mean(dims, true)
      local rm = x:to(tg.float64):mean(dims, true)
      assert.same(rm.shape, m.shape)
      assert.is_true((m:to(tg.float64) - rm):abs():max():item() < 1e-5)
    end
  end)
end)

describe("sum and mean for every dtype", function()
  it("float64 sums in float64", function()
    local x = tg.tensor({1e16, 1, -1e16, 3}, {dtype = tg.float64})
    assert.equal(tg.float64, x:sum().dtype)
    local y = uniform(100003, 7)
    local r = 0
    for _, v in ipairs(y:tolist()) do r = r + v end
    assert.near(r, y:sum():item(), 1e-9)
    assert.near(r / 100003, y:mean():item(), 1e-13)
  end)

  it("int64 sums are int64 and wrap around as PyTorch's", function()
    local x = tg.tensor({math.maxinteger, 1})
    assert.equal(tg.int64, x:sum().dtype)
    assert.equal(math.mininteger, x:sum():item())
    local big = tg.arange(0, 100001)
    assert.equal(100000 * 100001 // 2, big:sum():item())
    assert.same({4, 6}, tg.tensor({{1, 2}, {3, 4}}):sum(1):tolist())
    assert.has_error(function() big:mean() end,
      "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long")
  end)

  it("bool sums count trues as int64", function()
    local b = (tg.arange(0, 1001) % 3):eq(0)
    assert.equal(tg.bool, b.dtype)
    assert.equal(tg.int64, b:sum().dtype)
    assert.equal(334, b:sum():item())
    assert.has_error(function() b:mean() end,
      "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool")
  end)
end)

describe("sum and threads", function()
  it("sums over dims give the same bits on any thread count (each output is summed whole)", function()
    local x = normal(600 * 1001, 77):view(600, 1001)
    local y = normal(3 * 400 * 515, 78):view(3, 400, 515)
    local base
    for _, nt in ipairs({1, 2, 3, 5}) do
      with_threads(nt, function()
        local got = {x:sum(2), x:sum(1), y:sum(2), y:sum({2, 3}), y:sum({1, 2}), x:double():sum(1), y:mean(3)}
        if not base then base = got
        else
          for k = 1, #got do assert.is_true(got[k]:eq(base[k]):all():item(), nt .. " threads, case " .. k) end
        end
      end)
    end
    assert.is_true((base[3]:double() - y:double():sum(2)):abs():max():item() < 1e-4)
  end)

  it("a given thread count always gives the same bits; counts differ only by float rounding", function()
    local x = normal(3000017, 3)
    local r = ref64(x)
    local first = {}
    for _, nt in ipairs({1, 2, 3, 4, 7}) do
      with_threads(nt, function()
        local a, b = x:sum():item(), x:sum():item()
        assert.equal(a, b)
        first[nt] = a
        assert.near(r, a, 4 * 2 ^ -24 * x:abs():to(tg.float64):sum():item())
        local rows = x:narrow(1, 1, 3000000):view(1000, 3000)
        local p, q = rows:sum(2), rows:sum(2)
        assert.is_true(p:eq(q):all():item())
        local c, d = rows:sum(1), rows:sum(1)
        assert.is_true(c:eq(d):all():item())
      end)
    end
  end)
end)
