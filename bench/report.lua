-- Turns bench/build/results.txt (lines "side workload variant value unit"
-- and "STATUS side workload ok|error") into the table printed by run.sh.
local path = arg[1] or "bench/build/results.txt"
local vals, status, rows, seen = {}, {}, {}, {}
for line in io.lines(path) do
  local s, w, st = line:match("^STATUS (%S+) (%S+) (%S+)$")
  if s then
    status[s .. " " .. w] = (status[s .. " " .. w] == "error") and "error" or st
  else
    local side, wl, var, v, unit = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
    if side then
      local key = wl .. " " .. var
      if not seen[key] then
        seen[key] = true
        rows[#rows + 1] = {wl = wl, var = var, unit = unit}
      end
      local k = side .. " " .. key
      vals[k] = vals[k] or {}
      table.insert(vals[k], tonumber(v))
    end
  end
end

local function median(xs)
  table.sort(xs)
  local n = #xs
  return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

-- BENCH_AGG=best (bench/run.sh): each side's best round (the least time, the
-- highest rate); interference from a shared machine only ever slows a round
-- down, so with several rounds the best is the estimate least moved by it.
-- The default is the median.
local agg = os.getenv("BENCH_AGG") or "median"
local function best(xs, unit)
  local b = xs[1]
  local higher = unit:find("/s$") or unit == "%"
  for _, x in ipairs(xs) do if (higher and x > b) or (not higher and x < b) then b = x end end
  return b
end

local function value(side, r)
  local xs = vals[side .. " " .. r.wl .. " " .. r.var]
  if xs then return agg == "best" and best(xs, r.unit) or median(xs) end
  return nil, status[side .. " " .. r.wl] == "error" and "error" or "-"
end

-- ratio = tgrad time / peer time: for rates (GF/s, GB/s) that is peer / tgrad
local function ratio(t, p, unit)
  if not t or not p then return "-" end
  if unit:find("/s$") then return string.format("%.2f", p / t) end
  return string.format("%.2f", t / p)
end

local function fmt(v, miss)
  if not v then return miss end
  return string.format(v >= 100 and "%.0f" or v >= 10 and "%.1f" or "%.3g", v)
end

print("ratio = tgrad time / peer time (for GF/s and GB/s: peer rate / tgrad rate):"
      .. " < 1 means tgrad is faster")
-- extra thread counts (bench/run.sh BENCH_THREADS; helper kern): sides tagged
-- "tgrad@N"/"torch@N" get one more column, "t/torch@N", tgrad vs torch both on N threads
local extra, seen_n = {}, {}
for k in pairs(vals) do
  local n = k:match("^tgrad@(%d+) ")
  if n and not seen_n[n] then seen_n[n] = true; extra[#extra + 1] = n end
end
for k in pairs(status) do
  local n = k:match("^tgrad@(%d+) ")
  if n and not seen_n[n] then seen_n[n] = true; extra[#extra + 1] = n end
end
table.sort(extra, function(a, b) return tonumber(a) < tonumber(b) end)
local line = "%-12s %-18s %-5s %10s %10s %8s %10s %8s" .. string.rep(" %10s", #extra)
local head = {}
for i, n in ipairs(extra) do head[i] = "t/torch@" .. n end
print(string.format(line, "workload", "variant", "unit", "tgrad", "torch", "t/torch", "C ref", "t/C", table.unpack(head)))
for _, r in ipairs(rows) do
  local t, tm = value("tgrad", r)
  local p, pm = value("torch", r)
  local c, cm = value("cref", r)
  local cols = {}
  for i, n in ipairs(extra) do
    local tn, tnm = value("tgrad@" .. n, r)
    local pn, pnm = value("torch@" .. n, r)
    cols[i] = (tn and pn) and ratio(tn, pn, r.unit) or (tnm == "error" or pnm == "error") and "error" or "-"
  end
  print(string.format(line, r.wl, r.var, r.unit, fmt(t, tm), fmt(p, pm),
    ratio(t, p, r.unit), fmt(c, cm), ratio(t, c, r.unit), table.unpack(cols)))
end
