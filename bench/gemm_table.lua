-- bench/gemm_table.lua FILE: the ROW lines of bench/gemm_candidates.sh as one
-- markdown table per dtype and thread count (GF/s, the best of the rounds;
-- the best library in bold).
local libs = {"openblas", "blis", "mkl", "torch"}
local rows, order, seen, peak = {}, {}, {}, nil
for line in io.lines(arg[1]) do
  local lib, dt, th, shape, gf = line:match("^ROW (%S+) (%S+) (%d+) (%S+) (%S+)")
  if lib then
    local key = dt .. " " .. th
    if not seen[key] then seen[key] = {}; order[#order + 1] = key; rows[key] = {} end
    if not seen[key][shape] then seen[key][shape] = true; rows[key][#rows[key] + 1] = shape end
    local k = shape .. "/" .. lib
    rows[key][k] = math.max(rows[key][k] or 0, tonumber(gf))
  end
  local p32, p64 = line:match("^PEAK %S+ %d+ %d+ %S+ %S+ (%S+) (%S+)")
  if p32 then peak = {float32 = tonumber(p32), float64 = tonumber(p64)} end
end
for _, key in ipairs(order) do
  local dt, th = key:match("(%S+) (%S+)")
  local pk = peak and peak[dt] and string.format(", FMA peak %.1f GF/s", peak[dt] * tonumber(th)) or ""
  print(string.format("\n%s, %s thread(s)%s\n", dt, th, pk))
  print("| shape | " .. table.concat(libs, " | ") .. " |")
  print("|---|" .. string.rep("---:|", #libs))
  for _, shape in ipairs(rows[key]) do
    local best = 0
    for _, l in ipairs(libs) do best = math.max(best, rows[key][shape .. "/" .. l] or 0) end
    local cells = {}
    for _, l in ipairs(libs) do
      local v = rows[key][shape .. "/" .. l]
      cells[#cells + 1] = not v and "-" or (v == best and string.format("**%.3g**", v) or string.format("%.3g", v))
    end
    print("| " .. shape .. " | " .. table.concat(cells, " | ") .. " |")
  end
end
