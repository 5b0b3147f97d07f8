-- higher_order_spec.lua: create_graph = true gives differentiable gradients:
-- second (and third) derivatives against closed forms, Hessian-vector
-- products, gradgradcheck, and tg.autograd.functional (jacobian, hessian,
-- vjp, jvp, hvp) in float64.
local tg = require "tgrad"
local helpers = require "support.helpers"
local flat = helpers.flat
local assert_close = helpers.assert_close
local d64 = helpers.d64
local grad = tg.autograd.grad
local F = tg.autograd.functional

local function map(xs, f) local r = {} for i, v in ipairs(xs) do r[i] = f(v) end return r end

-- first and second derivative of an elementwise f at xs (summed output)
local function d1_d2(f, xs)
  local x = d64(xs)
  local g = grad(f(x):sum(), x, {create_graph = true})[1]
  local h = grad(g:sum(), x)[1]
  return g, h
end

local xs = {0.3, -0.7, 1.2, 2.0}

describe("second derivatives against closed forms", function()
  it("x^3", function()
    local g, h = d1_d2(function(x) return x ^ 3 end, xs)
    assert_close(g, map(xs, function(v) return 3 * v * v end))
    assert_close(h, map(xs, function(v) return 6 * v end))
  end)

  it("x^3 third derivative is 6", function()
    local x = d64(xs)
    local g = grad((x ^ 3):sum(), x, {create_graph = true})[1]
    local h = grad(g:sum(), x, {create_graph = true})[1]
    local t = grad(h:sum(), x)[1]
    assert_close(t, {6, 6, 6, 6})
  end)

  it("sin (d2 = -sin)", function()
    local g, h = d1_d2(tg.sin, xs)
    assert_close(g, map(xs, math.cos))
    assert_close(h, map(xs, function(v) return -math.sin(v) end))
  end)

  it("exp(x) * log(x) (d2 = e^x (log x + 2/x - 1/x^2))", function()
    local pos = {0.5, 1.0, 1.7, 3.0}
    local g, h = d1_d2(function(x) return x:exp() * x:log() end, pos)
    assert_close(g, map(pos, function(v) return math.exp(v) * (math.log(v) + 1 / v) end))
    assert_close(h, map(pos, function(v) return math.exp(v) * (math.log(v) + 2 / v - 1 / (v * v)) end))
  end)

  it("sigmoid (d2 = s (1 - s) (1 - 2 s))", function()
    local g, h = d1_d2(tg.sigmoid, xs)
    local s = function(v) return 1 / (1 + math.exp(-v)) end
    assert_close(g, map(xs, function(v) return s(v) * (1 - s(v)) end))
    assert_close(h, map(xs, function(v) return s(v) * (1 - s(v)) * (1 - 2 * s(v)) end))
  end)

  it("tanh (d2 = -2 t (1 - t^2))", function()
    local g, h = d1_d2(tg.tanh, xs)
    assert_close(g, map(xs, function(v) return 1 - math.tanh(v) ^ 2 end))
    assert_close(h, map(xs, function(v) local t = math.tanh(v) return -2 * t * (1 - t * t) end))
  end)

  it("softplus written as log(1 + exp(x)) (d2 = s (1 - s))", function()
    local g, h = d1_d2(function(x) return (x:exp() + 1):log() end, xs)
    local s = function(v) return 1 / (1 + math.exp(-v)) end
    assert_close(g, map(xs, s))
    assert_close(h, map(xs, function(v) return s(v) * (1 - s(v)) end))
  end)

  it("softplus(tanh(x)) composition", function()
    local g, h = d1_d2(function(x) return (x:tanh():exp() + 1):log() end, xs)
    local s = function(v) return 1 / (1 + math.exp(-v)) end
    for i, v in ipairs(xs) do
      local t = math.tanh(v)
      local dt, d2t = 1 - t * t, -2 * t * (1 - t * t)
      assert_close(g[i], s(t) * dt)
      assert_close(h[i], s(t) * (1 - s(t)) * dt * dt + s(t) * d2t)
    end
  end)

  it("matmul: the Hessian of sum((A x)^2) is 2 A^T A", function()
    local A = tg.tensor({{1, 2, 0}, {-1, 3, 1}}, {dtype = tg.float64})
    local x = d64({0.5, -1, 2})
    local g = grad((tg.matmul(A, x) ^ 2):sum(), x, {create_graph = true})[1]
    -- gradient 2 A^T A x
    local AtA = tg.matmul(A:t(), A)
    assert_close(g, tg.matmul(AtA, x:detach()) * 2)
    local H = {}
    for i = 1, 3 do H[i] = grad(g[i], x, {retain_graph = true})[1]:_flat() end
    assert_close(H, (AtA * 2):tolist())
  end)

  it("matmul with both sides variable: d/dW of grad_x of x^T W x", function()
    local W = tg.tensor({{1, 2}, {3, 4}}, {dtype = tg.float64, requires_grad = true})
    local x = d64({1, -2})
    local f = tg.matmul(x, tg.matmul(W, x))             -- x^T W x
    local gx = grad(f, x, {create_graph = true})[1]     -- (W + W^T) x
    assert_close(gx, {-8, -11})
    -- d/dW of sum(gx) = d/dW sum((W + W^T) x) = 1 x^T + x 1^T
    local gW = grad(gx:sum(), W)[1]
    assert_close(gW, {{1 + 1, -2 + 1}, {1 - 2, -2 - 2}})
  end)

  it("backward(create_graph) makes .grad differentiable", function()
    local x = d64({1.5})
    local y = x ^ 4
    y:backward(nil, {create_graph = true})
    assert.is_not_nil(x.grad.grad_fn)
    assert_close(x.grad, {4 * 1.5 ^ 3})
    local g2 = grad(x.grad, x)[1]
    assert_close(g2, {12 * 1.5 ^ 2})
  end)

  it("retain_graph defaults to create_graph", function()
    local x = d64({2})
    local y = (x:exp() * x):sum()
    grad(y, x, {create_graph = true})
    local again = grad(y, x)[1] -- the graph was kept
    assert_close(again, {math.exp(2) * 3})
    assert.has_error(function() grad(y, x) end,
      "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.")
  end)
end)

describe("Hessian-vector products", function()
  it("of f(x) = sum(x^2 * y) + prod-like terms by double backward", function()
    -- f(x) = x1^2 x2 + sin(x3) x1  ->  H = [[2 x2, 2 x1, cos x3], [2 x1, 0, 0], [cos x3, 0, -x1 sin x3]]
    local x = d64({0.7, -1.3, 0.4})
    local f = x[1] ^ 2 * x[2] + x[3]:sin() * x[1]
    local g = grad(f, x, {create_graph = true})[1]
    local v = tg.tensor({1, 2, -1}, {dtype = tg.float64})
    local hv = grad((g * v):sum(), x, {retain_graph = true})[1]
    local x1, x2, x3 = 0.7, -1.3, 0.4
    local H = {{2 * x2, 2 * x1, math.cos(x3)}, {2 * x1, 0, 0}, {math.cos(x3), 0, -x1 * math.sin(x3)}}
    local expect = {}
    for i = 1, 3 do expect[i] = H[i][1] * 1 + H[i][2] * 2 + H[i][3] * -1 end
    assert_close(hv, expect)
    -- the same through autograd.grad's grad_outputs
    local hv2 = grad(grad(f, x, {create_graph = true})[1], x, v)[1]
    assert_close(hv2, expect)
    -- and through functional.hvp
    local _, hv3 = F.hvp(function(t) return t[1] ^ 2 * t[2] + t[3]:sin() * t[1] end, x:detach(), v)
    assert_close(hv3, expect)
  end)
end)

describe("gradgradcheck", function()
  local function r64(...)
    local size = {...}
    return tg.rand(size, {dtype = tg.float64}):add_(0.5):requires_grad_(true)
  end

  it("passes for smooth compositions", function()
    tg.manual_seed(1)
    assert.is_true(tg.autograd.gradgradcheck(function(x) return (x ^ 3):sin() end, {r64(3)}))
    assert.is_true(tg.autograd.gradgradcheck(function(x, y) return x:exp() * y:log() end, {r64(2, 2), r64(2, 2)}))
    assert.is_true(tg.autograd.gradgradcheck(function(x) return x:sigmoid():tanh() end, {r64(4)}))
    assert.is_true(tg.autograd.gradgradcheck(function(a, b) return tg.matmul(a, b):tanh() end, {r64(2, 3), r64(3, 2)}))
    assert.is_true(tg.autograd.gradgradcheck(function(x) return (x:exp() + 1):log() / x end, {r64(3)}))
  end)

  it("accepts explicit grad_outputs and linear functions", function()
    local x = r64(3)
    local v = tg.tensor({1, -1, 2}, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradgradcheck(function(t) return t * 3 end, {x}, {v}))
  end)

  it("fails on a wrong second derivative", function()
    -- a custom Function whose backward is right once but not differentiable correctly
    local Sq = tg.autograd.Function{
      name = "BadSquare",
      forward = function(ctx, x) ctx:save_for_backward(x) return x * x end,
      backward = function(ctx, g) local x = ctx.saved_tensors[1] return g * x:detach() * 2 end,
    }
    local ok, msg = tg.autograd.gradgradcheck(function(x) return Sq:apply(x) end, {r64(2)}, {raise_exception = false})
    assert.is_false(ok)
    assert.matches("Jacobian mismatch", msg)
    assert.has_error(function() tg.autograd.gradgradcheck(function(x) return Sq:apply(x) end, {r64(2)}) end)
  end)
end)

describe("tg.autograd.functional", function()
  it("jacobian of an elementwise map and of a matrix product", function()
    local J = F.jacobian(function(x) return x ^ 2 end, tg.tensor({1, 2, 3}, {dtype = tg.float64}))
    assert.are.same({3, 3}, J.shape)
    assert_close(J, {{2, 0, 0}, {0, 4, 0}, {0, 0, 6}})
    local A = tg.tensor({{1, 2}, {3, 4}, {5, 6}}, {dtype = tg.float64})
    local J2 = F.jacobian(function(x) return tg.matmul(A, x) end, tg.tensor({1, 1}, {dtype = tg.float64}))
    assert_close(J2, A:tolist())
    assert.is_nil(J2.grad_fn)
  end)

  it("jacobian with several inputs and outputs gives nested lists", function()
    local x = tg.tensor({1, 2}, {dtype = tg.float64})
    local y = tg.tensor({3}, {dtype = tg.float64})
    local J = F.jacobian(function(a, b) return {a * b, a:sum()} end, {x, y})
    assert_close(J[1][1], {{3, 0}, {0, 3}})
    assert_close(J[1][2], {{1}, {2}})
    assert_close(J[2][1], {1, 1})
    assert_close(J[2][2], {0})
    assert.are.same({2, 2}, J[1][1].shape)
    assert.are.same({1}, J[2][2].shape)
  end)

  it("hessian of a scalar function (shape in .. in)", function()
    local H = F.hessian(function(x) return (x ^ 3):sum() + x[1] * x[2] end, tg.tensor({1, 2}, {dtype = tg.float64}))
    assert.are.same({2, 2}, H.shape)
    assert_close(H, {{6, 1}, {1, 12}})
    local H2 = F.hessian(function(x) return (x ^ 2):sum() end, tg.tensor({{1, 2}}, {dtype = tg.float64}))
    assert.are.same({1, 2, 1, 2}, H2.shape)
  end)

  it("vjp and jvp", function()
    local f = function(x) return tg.stack({x[1] * x[2], x[2]:sin()}) end
    local x = tg.tensor({2, 0.5}, {dtype = tg.float64})
    local out, vj = F.vjp(f, x, tg.tensor({1, 3}, {dtype = tg.float64}))
    assert_close(out, {1, math.sin(0.5)})
    -- J = [[x2, x1], [0, cos x2]]
    assert_close(vj, {0.5, 2 + 3 * math.cos(0.5)})
    local out2, jv = F.jvp(f, x, tg.tensor({1, -1}, {dtype = tg.float64}))
    assert_close(out2, {1, math.sin(0.5)})
    assert_close(jv, {0.5 - 2, -math.cos(0.5)})
    assert.is_nil(jv.grad_fn)
    assert.has_error(function() F.vjp(f, x) end,
      "The vector v can only be nil if the user-provided function returns a single Tensor with a single element.")
  end)

  it("jvp of a function not depending on its input is zero", function()
    local _, jv = F.jvp(function(x) return tg.ones(2, {dtype = tg.float64}) end, tg.tensor({1, 2}, {dtype = tg.float64}),
      tg.tensor({1, 1}, {dtype = tg.float64}))
    assert_close(jv, {0, 0})
  end)

  it("create_graph keeps the results differentiable", function()
    local x = d64({0.5, 1.5})
    local _, hv = F.hvp(function(t) return (t ^ 3):sum() end, x, tg.tensor({1, 1}, {dtype = tg.float64}), {create_graph = true})
    assert_close(hv, {3, 9})
    assert.is_not_nil(hv.grad_fn)
    assert_close(grad(hv:sum(), x)[1], {6, 6})
  end)
end)
