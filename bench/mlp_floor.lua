-- The hardware floor of workload 3 (mlp_step), printed in its "C ref" column:
-- the step's matrix-product flops at the measured FMA peak of the threads used
-- (bench/build/fma_peak). Nothing runs faster than this, captured or not; the
-- elementwise work, the loss and the update come on top. t/C is how far a
-- side's step is from it.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local dir = arg[0]:match("^(.*)/[^/]*$") or "."

local f = io.popen(dir .. "/build/fma_peak 2>/dev/null")
local line = f and f:read("l") or ""
if f then f:close() end
local p32 = line:match("^PEAK %S+ %d+ %d+ %S+ %S+ (%S+)")
if not p32 then
  io.stderr:write("mlp_floor: bench/build/fma_peak gave no PEAK line\n")
  os.exit(1)
end
local peak = tonumber(p32) * B.threads * 1e9

-- forward x@W for every layer, dW = h^T@g for every layer, dh = g@W^T for all
-- but the first (the input needs no gradient): 2*batch*in*out flops each
local function step_flops(sizes, batch)
  local fl = 0
  for i = 1, #sizes - 1 do
    local per = 2 * batch * sizes[i] * sizes[i + 1]
    fl = fl + per * (i == 1 and 2 or 3)
  end
  return fl
end

for _, batch in ipairs({64, 256}) do
  local t = 1e6 * step_flops({784, 256, 128, 10}, batch) / peak
  for _, v in ipairs({"", "_captured", "_nn_optim"}) do
    B.result("mlp_step", "b" .. batch .. v, t, "us")
  end
end
