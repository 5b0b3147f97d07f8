-- higher_order.lua: gradients of gradients with tgrad.
--   1. Newton's method on a 1-D function: x <- x - f'(x) / f''(x), where both
--      derivatives come from autograd (grad with create_graph = true, then grad again).
--   2. The Hessian of a small MLP's loss with respect to all its weights
--      (tg.autograd.functional.hessian), checked against finite differences
--      of the gradient, and a Hessian-vector product without forming H.
-- Run: eval "$(make -s env)"; lua5.4 examples/higher_order.lua   (exits 1 on a wrong result)
local tg = require "tgrad"
local grad = tg.autograd.grad

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAILED: ", what, "\n")
  end
end

---------------------------------------------------------------- 1. Newton
-- f(x) = x^4 - 3 x^2 + 2 x: f'(x) = 4x^3 - 6x + 2 vanishes at x = 1, a minimum (f''(1) = 6)
local function f(x) return x ^ 4 - x ^ 2 * 3 + x * 2 end

local x = tg.tensor(2.0, {dtype = tg.float64, requires_grad = true})
print("Newton's method on f(x) = x^4 - 3x^2 + 2x")
for step = 1, 20 do
  local y = f(x)
  local d1 = grad(y, x, {create_graph = true})[1] -- f'(x), itself differentiable
  local d2 = grad(d1, x)[1]                      -- f''(x)
  print(("  step %2d  x = %.12f  f'(x) = % .3e  f''(x) = %.6f"):format(step, x:item(), d1:item(), d2:item()))
  if math.abs(d1:item()) < 1e-12 then break end
  tg.no_grad(function() x:sub_(d1 / d2) end)
end
local xs = x:item()
check(math.abs(4 * xs ^ 3 - 6 * xs + 2) < 1e-10, "Newton: f'(x*) = 0")
check(12 * xs ^ 2 - 6 > 0, "Newton: f''(x*) > 0 (a minimum)")
check(math.abs(xs - 1) < 1e-12, "Newton: x* = 1")

---------------------------------------------------------------- 2. MLP Hessian
-- a 2-3-1 tanh network; its 13 weights live in one flat vector theta so that
-- the Hessian is a 13 x 13 matrix
tg.manual_seed(0)
local X = tg.randn(8, 2, {dtype = tg.float64})
local Y = tg.randn(8, 1, {dtype = tg.float64})
local sizes = {{"W1", 2, 3}, {"b1", 3}, {"W2", 3, 1}, {"b2", 1}}

local function unpack_params(theta)
  local p, off = {}, 1
  for _, s in ipairs(sizes) do
    local n = s[2] * (s[3] or 1)
    local v = theta:narrow(1, off, n)
    p[s[1]] = s[3] and v:view(s[2], s[3]) or v
    off = off + n
  end
  return p
end

local function loss_fn(theta)
  local p = unpack_params(theta)
  local h = (tg.matmul(X, p.W1) + p.b1):tanh()
  local out = tg.matmul(h, p.W2) + p.b2
  return ((out - Y) ^ 2):mean()
end

local n = 2 * 3 + 3 + 3 * 1 + 1
local theta = tg.randn(n, {dtype = tg.float64}) * 0.5
local H = tg.autograd.functional.hessian(loss_fn, theta)
print(("\nHessian of the MLP loss: %d x %d"):format(H:size(1), H:size(2)))
for i = 1, 4 do
  local row = {}
  for j = 1, 6 do row[j] = ("% .4f"):format(H[{i, j}]:item()) end
  print("  " .. table.concat(row, " ") .. " ...")
end

-- symmetric
local asym = (H - H:t()):abs():max():item()
check(asym < 1e-10, "Hessian is symmetric (max |H - H^T| = " .. asym .. ")")

-- against central differences of the gradient
local function gradient(t)
  local tt = t:detach():requires_grad_(true)
  return grad(loss_fn(tt), tt)[1]
end
local eps, worst = 1e-6, 0
for j = 1, n do
  local e = tg.zeros(n, {dtype = tg.float64})
  e[j] = eps
  local col = (gradient(theta + e) - gradient(theta - e)) / (2 * eps)
  worst = math.max(worst, (col - H:select(2, j)):abs():max():item())
end
print(("  max |H - finite differences| = %.2e"):format(worst))
check(worst < 1e-6, "Hessian matches finite differences")

-- a Hessian-vector product without forming H: grad of (grad . v)
local v = tg.randn(n, {dtype = tg.float64})
local th = theta:detach():requires_grad_(true)
local g = grad(loss_fn(th), th, {create_graph = true})[1]
local hv = grad((g * v):sum(), th)[1]
local diff = (hv - tg.matmul(H, v)):abs():max():item()
print(("  max |Hv (double backward) - H v| = %.2e"):format(diff))
check(diff < 1e-10, "Hessian-vector product")

if failures > 0 then
  io.stderr:write(failures, " check(s) failed\n")
  os.exit(1)
end
print("\nall checks passed")
