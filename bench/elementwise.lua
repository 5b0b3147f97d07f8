-- Workload 5: elementwise ops on float32, GB/s counting bytes read + written.
-- Allocating forms (c = a + b, a:exp(), a:sum()) plus the in-place a:add_(b).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)

for _, n in ipairs({1000000, 10000000}) do
  local tag = n == 1000000 and "1e6" or "1e7"
  local a, b = tg.randn(n), tg.randn(n)
  local o = tg.empty(n)
  local ops = {
    {"add", 12, function() return a + b end},         -- read 2, write 1
    {"exp", 8, function() return a:exp() end},         -- read 1, write 1
    {"sum", 4, function() return a:sum() end},         -- read 1
    {"add_inplace", 12, function() a:add_(b) end},   -- read 2, write 1
    -- buffers reused at once (issue 11): out= (PyTorch's twin uses out= too), and a
    -- scope that releases the result when it closes (the twin: a plain allocating add,
    -- whose refcount frees the result at once)
    {"add_out", 12, function() return tg.add(a, b, {out = o}) end},
    {"exp_out", 8, function() return tg.exp(a, {out = o}) end},
    {"add_scope", 12, function() local s <close> = tg.scope(); local c = a + b end},
    {"exp_scope", 8, function() local s <close> = tg.scope(); local c = a:exp() end},
  }
  for _, op in ipairs(ops) do
    local ok, err = pcall(function()
      local t = B.measure(op[3])
      B.result("elementwise", op[1] .. "_" .. tag, op[2] * n / t / 1e9, "GB/s")
    end)
    if not ok then io.stderr:write(op[1], "_", tag, ": ", tostring(err), "\n") end
  end
end

-- act: activation forward + backward on 1e6 float32 (y = f(x); y:backward(g); x.grad reset each
-- time, so no accumulation): bytes = forward read + write (8) + backward read g, saved, write (12)
do
  local n = 1000000
  local x, g = tg.randn(n):requires_grad_(), tg.randn(n)
  for _, name in ipairs({"relu", "sigmoid", "tanh"}) do
    local ok, err = pcall(function()
      local t = B.measure(function()
        x.grad = nil
        x[name](x):backward(g)
      end)
      B.result("elementwise", name .. "_fwd_bwd_1e6", 20 * n / t / 1e9, "GB/s")
    end)
    if not ok then io.stderr:write(name, "_fwd_bwd_1e6: ", tostring(err), "\n") end
  end
end
