-- custom_function.lua: a new differentiable operation written in Lua, after
-- PyTorch's "Defining new autograd Functions" tutorial: fit
-- y = sin(x) on [-pi, pi] with y = a + b P3(c + d x), where
-- P3(x) = (5x^3 - 3x) / 2 is the Legendre polynomial of degree 3, computed
-- by a custom Function with its own backward (P3'(x) = 1.5 (5x^2 - 1)).
-- Run: eval "$(make -s env)"; lua5.4 examples/custom_function.lua   (exits 1 on a wrong result)
local tg = require "tgrad"

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAILED: ", what, "\n")
  end
end

local LegendrePolynomial3 = tg.autograd.Function{
  name = "LegendrePolynomial3",                 -- its graph node prints as <LegendrePolynomial3Backward>
  forward = function(ctx, input)
    ctx:save_for_backward(input)                -- what backward will need
    return (input ^ 3 * 5 - input * 3) * 0.5
  end,
  backward = function(ctx, grad_output)
    local input = ctx.saved_tensors[1]
    return grad_output * (input ^ 2 * 5 - 1) * 1.5
  end,
}

-- the custom op against finite differences, in float64 (first and second order:
-- backward is written with tgrad ops, so it is itself differentiable)
local probe = tg.tensor({-0.7, 0.1, 0.9}, {dtype = tg.float64, requires_grad = true})
check(tg.autograd.gradcheck(function(t) return LegendrePolynomial3:apply(t) end, {probe}), "gradcheck")
check(tg.autograd.gradgradcheck(function(t) return LegendrePolynomial3:apply(t) end, {probe}), "gradgradcheck")

local x = tg.linspace(-math.pi, math.pi, 2000)
local y = tg.sin(x)
local a = tg.full({}, 0.0, {requires_grad = true})
local b = tg.full({}, -1.0, {requires_grad = true})
local c = tg.full({}, 0.0, {requires_grad = true})
local d = tg.full({}, 0.3, {requires_grad = true})

local P3 = function(t) return LegendrePolynomial3:apply(t) end
local lr = 5e-6
local first_loss, loss_value
for t = 1, 2000 do
  local y_pred = a + b * P3(c + d * x)
  local loss = ((y_pred - y) ^ 2):sum()
  if t == 1 then
    first_loss = loss:item()
    print("graph:", tostring(loss.grad_fn), "<-", tostring(y_pred.grad_fn), "...",
      tostring(y_pred.grad_fn.next_functions[2][1].next_functions[2][1]))
  end
  loss_value = loss:item()
  if t % 200 == 0 then print(("step %4d  loss %.4f"):format(t, loss_value)) end
  loss:backward()
  tg.no_grad(function()
    for _, p in ipairs{a, b, c, d} do
      p:sub_(p.grad * lr)
      p.grad = nil
    end
  end)
end
print(("Result: y = %.4f + %.4f * P3(%.4f + %.4f x)"):format(a:item(), b:item(), c:item(), d:item()))

-- PyTorch's tutorial reaches about 9 with the same setup
check(loss_value < 0.05 * first_loss, ("loss fell from %.1f to %.2f"):format(first_loss, loss_value))
check(loss_value < 20, "final loss below 20 (got " .. loss_value .. ")")
check(tostring(a.grad_fn) == "nil" and a.is_leaf, "parameters stay leaves")

if failures > 0 then
  io.stderr:write(failures, " check(s) failed\n")
  os.exit(1)
end
print("all checks passed")
