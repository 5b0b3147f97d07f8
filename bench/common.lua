-- Shared helpers for the tgrad benchmarks: threads, timing, RESULT lines.
local M = {}

M.threads = tonumber(os.getenv("TG_THREADS") or "") or 1

-- benchclock.so is built by bench/run.sh into bench/build/
local dir = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
package.cpath = dir .. "/build/?.so;" .. package.cpath
local ok, clk = pcall(require, "benchclock")
if ok then
  M.now = clk.now
else -- os.clock is CPU time: wrong with more than one thread
  io.stderr:write("bench: benchclock.so not found, timing with os.clock\n")
  M.now = os.clock
end

function M.setup(tg)
  if tg.set_num_threads then tg.set_num_threads(M.threads) end
  if tg.manual_seed then tg.manual_seed(0) end
end

function M.median(xs)
  table.sort(xs)
  local n = #xs
  if n % 2 == 1 then return xs[(n + 1) // 2] end
  return (xs[n // 2] + xs[n // 2 + 1]) / 2
end

-- Median seconds per call of fn. opts: iters (per repetition; calibrated to
-- about opts.target seconds when absent), reps (default 7), warmup (seconds).
function M.measure(fn, opts)
  opts = opts or {}
  local reps, iters = opts.reps or 7, opts.iters
  local t0 = M.now()
  local n = 0
  repeat fn(); n = n + 1 until M.now() - t0 >= (opts.warmup or 0.2) and n >= 3
  if not iters then
    local per = (M.now() - t0) / n
    iters = math.max(1, math.floor((opts.target or 0.3) / per))
  end
  local times = {}
  for r = 1, reps do
    collectgarbage()
    local s = M.now()
    for _ = 1, iters do fn() end
    times[r] = (M.now() - s) / iters
  end
  return M.median(times)
end

function M.result(workload, variant, value, unit)
  print(string.format("RESULT %s %s %.6g %s", workload, variant, value, unit))
  io.stdout:flush()
end

return M
