-- Gradients of products whose operand is a transposed contiguous matrix
-- (F.linear's w:t()): computed in the operand's own layout (PyTorch's
-- mm_mat2_backward), so the leaf's .grad is contiguous and no strided copy
-- runs; values equal the gradient of the same product on contiguous copies.
local tg = require "tgrad"

local function close(a, b, tol)
  assert.are.same(a.shape, b.shape)
  if a:numel() == 0 then return end
  local d = (a - b):abs():max():item()
  assert.is_true(d <= (tol or 1e-5), "max abs difference " .. d)
end

-- gradients of sum(f(x, w) * r) for w used transposed, against w used as a
-- contiguous copy of its transpose
local function check(f, xshape, wshape, dtype)
  local r_x = tg.randn(xshape, {dtype = dtype})
  local r_w = tg.randn(wshape, {dtype = dtype})
  local x1 = r_x:clone():requires_grad_()
  local w1 = r_w:clone():requires_grad_()
  local y1 = f(x1, w1:transpose(-1, -2))
  local r = tg.randn(y1.shape, {dtype = dtype})
  ;(y1 * r):sum():backward()
  local x2 = r_x:clone():requires_grad_()
  local wt = r_w:transpose(-1, -2):contiguous():requires_grad_()
  local y2 = f(x2, wt)
  ;(y2 * r):sum():backward()
  close(y1, y2)
  close(x1.grad, x2.grad)
  close(w1.grad, wt.grad:transpose(-1, -2))
  assert.is_true(w1.grad:is_contiguous())
  assert.is_true(x1.grad:is_contiguous())
end

describe("products with a transposed contiguous operand", function()
  for _, dt in ipairs({tg.float32, tg.float64}) do
    local name = tostring(dt)
    it("mm: w:t() as the right operand, " .. name, function()
      check(function(x, wt) return tg.mm(x, wt) end, {5, 7}, {3, 7}, dt)
    end)
    it("mm: x:t() as the left operand, " .. name, function()
      check(function(w, xt) return tg.mm(xt, w) end, {4, 3}, {4, 6}, dt)
    end)
    it("addmm: F.linear with bias, " .. name, function()
      local b = tg.randn(3, {dtype = dt})
      check(function(x, wt) return tg.addmm(b, x, wt) end, {5, 7}, {3, 7}, dt)
    end)
    it("addmm with alpha and beta, " .. name, function()
      local b = tg.randn(3, {dtype = dt})
      check(function(x, wt) return tg.addmm(b, x, wt, {beta = 0.5, alpha = -2}) end, {5, 7}, {3, 7}, dt)
    end)
    it("bmm: batched transposed operand, " .. name, function()
      check(function(x, wt) return tg.bmm(x, wt) end, {2, 5, 7}, {2, 3, 7}, dt)
    end)
  end

  it("nn.Linear's weight gets a contiguous gradient equal to the reference", function()
    local lin = tg.nn.Linear(7, 3)
    local x = tg.randn(5, 7)
    lin(x):pow(2):sum():backward()
    assert.is_true(lin.weight.grad:is_contiguous())
    local w = lin.weight:detach():clone():requires_grad_()
    local b = lin.bias:detach():clone()
    ;(tg.mm(x, w:t():contiguous()) + b):pow(2):sum():backward()
    close(lin.weight.grad, w.grad)
  end)

  it("gradcheck and gradgradcheck through the flipped products (float64)", function()
    local x = tg.randn({4, 5}, {dtype = tg.float64, requires_grad = true})
    local w = tg.randn({3, 5}, {dtype = tg.float64, requires_grad = true})
    local b = tg.randn({3}, {dtype = tg.float64, requires_grad = true})
    local f = function(xx, ww, bb) return tg.addmm(bb, xx, ww:t()) end
    assert.is_true(tg.autograd.gradcheck(f, {x, w, b}))
    assert.is_true(tg.autograd.gradgradcheck(f, {x, w, b}))
    local g = function(xx, ww) return tg.mm(xx:t():contiguous():t(), ww:t()) end
    assert.is_true(tg.autograd.gradcheck(g, {x, w}))
    assert.is_true(tg.autograd.gradgradcheck(g, {x, w}))
    local h = function(xx, ww) return tg.bmm(xx, ww:transpose(2, 3)) end
    local x3 = tg.randn({2, 4, 5}, {dtype = tg.float64, requires_grad = true})
    local w3 = tg.randn({2, 3, 5}, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(h, {x3, w3}))
    assert.is_true(tg.autograd.gradgradcheck(h, {x3, w3}))
  end)

  it("a 1-wide transposed operand and empty products", function()
    check(function(x, wt) return tg.mm(x, wt) end, {5, 7}, {1, 7}, tg.float64)
    check(function(x, wt) return tg.mm(x, wt) end, {1, 7}, {3, 7}, tg.float64)
    check(function(x, wt) return tg.mm(x, wt) end, {0, 7}, {3, 7}, tg.float64)
  end)

  it("the gradient taken over from a transposed product accumulates and is writable", function()
    local lin = tg.nn.Linear(6, 4)
    local x = tg.randn(3, 6)
    lin(x):sum():backward()
    local g1 = lin.weight.grad:clone()
    lin(x):sum():backward() -- accumulates in place into the first .grad
    close(lin.weight.grad, g1 * 2)
    lin.weight.grad:mul_(0.5) -- the buffer is the grad's own: nothing else changes
    close(lin.weight.grad, g1)
    close(g1, lin.weight.grad:clone())
    lin.weight.grad = nil
    local y = lin(x)
    y:sum():backward()
    close(lin.weight.grad, g1)
    assert.is_true(lin.weight.grad:is_contiguous())
  end)
end)
