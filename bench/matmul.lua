-- Workload 4: float32 matmul c = a @ b (allocating), GF/s = 2 n^3 / time.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)

for _, n in ipairs({256, 512, 1024, 2048}) do
  local a, b = tg.randn(n, n), tg.randn(n, n)
  local t = B.measure(function() return tg.matmul(a, b) end, {reps = 5})
  B.result("matmul", "n" .. n, 2 * n ^ 3 / t / 1e9, "GF/s")
end
