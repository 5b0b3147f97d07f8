-- Workload 4: matrix products c = a @ b (allocating), GF/s = 2 m n k / time:
-- float32 n x n (n = 256..2048), the MLP 784-256's products at batch 64 and
-- 256 (forward x @ w, backward g @ w^T and x^T @ g, transposed views as
-- autograd makes them), the tiny shapes of the seed loop and the tiny policy,
-- and the machine's FMA peak (bench/build/fma_peak, built by run.sh: FMA units
-- x vector width x clock, detected and measured at run time) with each square
-- product's share of it. Timing: the best single call over ~0.6 s; with one
-- thread the clock is the process's CPU time (os.clock; bench/matmul.py uses
-- time.process_time), so time the core spends on other processes of a shared
-- machine does not count; with more threads it is wall time.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)
local dir = arg[0]:match("^(.*)/[^/]*$") or "."

local clock = B.threads == 1 and os.clock or B.now
local function best(fn)
  fn()
  local b, calls, t0 = math.huge, 0, B.now()
  while calls < 3 or (B.now() - t0 < 0.6 and calls < 200000) do
    local batch = b < 2e-5 and 100 or 1
    local s = clock()
    for _ = 1, batch do fn() end
    b = math.min(b, (clock() - s) / batch)
    calls = calls + batch
  end
  return b
end

-- the FMA peak of one core times the threads used
local peak
local f = io.popen(dir .. "/build/fma_peak 2>/dev/null")
if f then
  local line = f:read("l") or ""
  f:close()
  local isa, lanes, units, ghz, p32 = line:match("^PEAK (%S+) (%d+) (%d+) (%S+) %S+ (%S+)")
  if isa then
    peak = tonumber(p32) * B.threads
    -- the variant names the formula: units x float32 lanes x 2 flops x clock (the next row, measured
    -- with a dependent-add loop; /proc/cpuinfo's "cpu MHz" is only the nominal clock)
    B.result("matmul", string.format("fma_peak_%sx%s_%s_x2xclock", units, lanes, isa), peak, "GF/s")
    B.result("matmul", "clock_dep_add_loop", tonumber(ghz), "GHz")
  end
end

local function row(name, m, n, k, ta, tb)
  local a = ta and tg.randn(k, m):t() or tg.randn(m, k)
  local b = tb and tg.randn(n, k):t() or tg.randn(k, n)
  local t = best(function() return tg.matmul(a, b) end)
  local gf = 2 * m * n * k / t / 1e9
  B.result("matmul", name, gf, "GF/s")
  return gf
end

for _, n in ipairs({256, 512, 1024, 2048}) do
  local gf = row("n" .. n, n, n, n)
  if peak then B.result("matmul", "n" .. n .. "_of_fma_peak", 100 * gf / peak, "%") end
end
for _, bs in ipairs({64, 256}) do
  row("b" .. bs .. "_fwd", bs, 256, 784)              -- x @ w
  row("b" .. bs .. "_dx", bs, 784, 256, false, true)  -- g @ w^T
  row("b" .. bs .. "_dw", 784, 256, bs, true, false)  -- x^T @ g
end
row("5x3@3x1", 5, 1, 3)
row("1x4@4x32", 1, 32, 4)
row("32x32@32x32", 32, 32, 32)
