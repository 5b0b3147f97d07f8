-- autograd_tour.lua: PyTorch's "Automatic differentiation with torch.autograd"
-- tutorial, line by line in Lua. Run: make demo
local tg = require "tgrad"
tg.manual_seed(0)

print("== A one-layer network ==")
local x = tg.ones(5)                                -- input tensor
local y = tg.zeros(3)                               -- expected output
local w = tg.randn(5, 3, {requires_grad = true})
local b = tg.randn(3, {requires_grad = true})
local z = tg.matmul(x, w) + b
local loss = tg.nn.functional.binary_cross_entropy_with_logits(z, y)
print("w =", w)
print("b =", b)
print("z =", z)
print("loss =", loss)

print("\n== Tensors, functions and the computational graph ==")
print("Gradient function for z =", z.grad_fn)
print("Gradient function for loss =", loss.grad_fn)
print("loss.grad_fn.next_functions:")
for i, edge in ipairs(loss.grad_fn.next_functions) do
  print("  ", i, edge[1], edge[2])
end
print("z.grad_fn.next_functions[2][1].variable is b:", z.grad_fn.next_functions[2][1].variable == b)

print("\n== Computing gradients ==")
loss:backward()
print("w.grad =", w.grad)
print("b.grad =", b.grad)

print("\n== Disabling gradient tracking ==")
z = tg.matmul(x, w) + b
print("z.requires_grad:", z.requires_grad)
z = tg.no_grad(function() return tg.matmul(x, w) + b end)
print("inside tg.no_grad(fn):", z.requires_grad)
do
  local guard <close> = tg.no_grad()
  z = tg.matmul(x, w) + b
  print("inside local g <close> = tg.no_grad():", z.requires_grad)
end
z = tg.matmul(x, w) + b
local z_det = z:detach()
print("z:detach().requires_grad:", z_det.requires_grad)

print("\n== A scalar loss: J = sum((x w - y)^2) ==")
local xs = tg.tensor({1.0, 2.0, 3.0})
local ys = tg.tensor({1.0, 2.0, 3.0})
local ws = tg.tensor(0.0, {requires_grad = true})
local J = ((xs * ws - ys) ^ 2):sum()
print("J =", J)
J:backward()
print("w.grad =", ws.grad)                        -- dJ/dw = sum(2 x (x w - y)) = -28

print("\n== Gradients accumulate ==")
J = ((xs * ws - ys) ^ 2):sum()
J:backward()
print("after a second backward, w.grad =", ws.grad) -- -56
ws.grad:zero_()
J = ((xs * ws - ys) ^ 2):sum()
J:backward()
print("after zero_() and backward, w.grad =", ws.grad) -- -28 again

print("\n== Tensor gradients and Jacobian products ==")
local inp = tg.eye(4, 5, {requires_grad = true})
local out = ((inp + 1) ^ 2):t()
out:backward(tg.ones_like(out), {retain_graph = true})
print("First call\n" .. tostring(inp.grad))
out:backward(tg.ones_like(out), {retain_graph = true})
print("\nSecond call\n" .. tostring(inp.grad))
inp.grad:zero_()
out:backward(tg.ones_like(out), {retain_graph = true})
print("\nCall after zeroing gradients\n" .. tostring(inp.grad))

print("\n== The graph is freed by backward unless retain_graph ==")
local a = tg.tensor({2.0, 3.0}, {requires_grad = true})
local s = (a * a):sum()
s:backward()
local ok, err = pcall(function() s:backward() end)
print("second backward:", ok, (tostring(err):gsub("^.-: ", ""):sub(1, 72) .. "..."))
