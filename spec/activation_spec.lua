-- activation_spec.lua (helper act): the activations that are core ops (elu, selu, celu, leaky_relu,
-- hardtanh, relu6, hardswish, hardsigmoid, mish, logsigmoid) and the fused one-kernel backward
-- of those and of relu, sigmoid, tanh, gelu, silu, softplus. Values, gradients and grad_fn names
-- against PyTorch (spec/fixtures/activation.lua from tools/gen_activation_fixtures.py), gradcheck
-- and gradgradcheck in float64, in-place forms, odd inputs, refusals with PyTorch's wording.
local tg = require "tgrad"
local fx = require "support.fixtures"
local H = require "support.helpers"
local F = tg.F
local FIX = fx.load("activation")

local TOL = {float32 = 2e-6, float64 = 1e-12}

-- F.<name>(x, <args>) as a function of x (and the in-place flag appended)
local function caller(name, args, inplace)
  local src = "local F, x = ...; return F." .. name .. "(x" .. (args ~= "" and ", " .. args or "")
  if inplace then
    if args:sub(1, 1) == "{" then src = src:sub(1, -2) .. ", inplace = true}" -- options table
    else src = src .. (name == "relu" and ", true" or (args ~= "" and ", true" or ", {inplace = true}")) end
  end
  local chunk = assert(load(src .. ")", "=" .. name, "t", {}))
  return function(x) return chunk(F, x) end
end

local function fixture_input(dt, rg)
  return tg.tensor(FIX.x, {dtype = tg[dt], requires_grad = rg})
end

-- the activations with parameters to exercise (float64 gradcheck / gradgradcheck)
local ACTS = {
  {"elu", ""}, {"elu", "0.5"}, {"selu", ""}, {"celu", "0.7"}, {"leaky_relu", "0.2"},
  {"leaky_relu", "{negative_slope = -0.3}"}, {"hardtanh", "-2.0, 1.5"}, {"relu6", ""}, {"hardswish", ""},
  {"hardsigmoid", ""}, {"mish", ""}, {"logsigmoid", ""},
  {"relu", ""}, {"sigmoid", ""}, {"tanh", ""}, {"gelu", ""}, {"gelu", "{approximate = 'tanh'}"}, {"silu", ""},
  {"softplus", ""}, {"softplus", "2.0, 5.0"},
}
local INPLACE = {
  {"elu", "", "EluBackward1"}, {"elu", "0.5", "EluBackward1"}, {"selu", "", "EluBackward1"},
  {"celu", "0.7", "CeluBackward1"}, {"leaky_relu", "0.2", "LeakyReluBackward1"},
  {"hardtanh", "-2.0, 1.5", "HardtanhBackward0"}, {"relu6", "", "HardtanhBackward0"},
  {"hardswish", "", "HardswishBackward0"}, {"hardsigmoid", "", "HardsigmoidBackward0"},
  {"mish", "", "MishBackward0"}, {"relu", "", "ReluBackward0"},
}

-- float64 values away from every kink (0, +-3, the hardtanh bounds), odd size
local function smooth_input(shape)
  local vals = {-4.1, -2.3, -1.7, -0.8, -0.35, 0.2, 0.45, 0.9, 1.3, 2.2, 3.6, -0.6, 0.7, -1.1, 1.9}
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local t = {}
  for i = 1, n do t[i] = vals[(i - 1) % #vals + 1] end
  return tg.tensor(t, {dtype = tg.float64}):reshape(shape):requires_grad_()
end

describe("activations against PyTorch (fixtures)", function()
  for _, case in ipairs(FIX.cases) do
    for _, dt in ipairs({"float32", "float64"}) do
      local want = case[dt]
      it(("%s(%s) %s: values, gradient, grad_fn %s"):format(case.name, case.args, dt, want.grad_fn), function()
        local x = fixture_input(dt, true)
        local y = caller(case.name, case.args)(x)
        assert.are.equal(tg[dt], y.dtype)
        assert.are.equal(want.grad_fn, y.grad_fn.name)
        H.assert_close(y, want.out, TOL[dt])
        local gw = tg.tensor(FIX.g, {dtype = tg[dt]})
        y:mul(gw):sum():backward()
        H.assert_close(x.grad, want.grad, TOL[dt])
      end)
      if want.inplace_grad_fn then
        it(("%s(%s, inplace) %s: values, gradient, grad_fn %s"):format(case.name, case.args, dt,
          want.inplace_grad_fn), function()
          local x = fixture_input(dt, true)
          local y = x * 1
          local v0 = y:_version()
          local r = caller(case.name, case.args, true)(y)
          assert.is_true(rawequal(r, y))
          assert.are.equal(v0 + 1, y:_version())
          assert.are.equal(want.inplace_grad_fn, y.grad_fn.name)
          H.assert_close(y, want.out, TOL[dt])
          local gw = tg.tensor(FIX.g, {dtype = tg[dt]})
          y:mul(gw):sum():backward()
          H.assert_close(x.grad, want.inplace_grad, TOL[dt])
        end)
      end
    end
  end
end)

describe("activations: gradcheck and gradgradcheck (float64)", function()
  for _, a in ipairs(ACTS) do
    it(("%s(%s)"):format(a[1], a[2]), function()
      local f = caller(a[1], a[2])
      local x = smooth_input({3, 5})
      assert.is_true(tg.autograd.gradcheck(f, {x}))
      assert.is_true(tg.autograd.gradgradcheck(f, {x}))
    end)
  end
  for _, a in ipairs(INPLACE) do
    it(("%s(%s, inplace) (%s)"):format(a[1], a[2], a[3]), function()
      local f = caller(a[1], a[2], true)
      local g = function(t) return f(t * 1) end
      local x = smooth_input({2, 7})
      assert.are.equal(a[3], g(x).grad_fn.name)
      assert.is_true(tg.autograd.gradcheck(g, {x}))
      assert.is_true(tg.autograd.gradgradcheck(g, {x}))
    end)
  end
end)

describe("activations: fused backward equals the differentiable one", function()
  for _, a in ipairs(ACTS) do
    for _, dt in ipairs({"float32", "float64"}) do
      it(("%s(%s) %s: plain backward vs create_graph, contiguous, strided and broadcast gradients"):format(
        a[1], a[2], dt), function()
        local f = caller(a[1], a[2])
        local base = tg.tensor(FIX.x, {dtype = tg[dt]}):reshape(4, 5)
        local gout = tg.tensor(FIX.g, {dtype = tg[dt]}):reshape(5, 4):t() -- a strided gradient
        for _, xin in ipairs({base, base:t():contiguous():t()}) do           -- contiguous, then strided x
          local x1 = xin:detach():requires_grad_()
          local fused = tg.autograd.grad({f(x1)}, {x1}, {gout})[1]
          local x2 = xin:detach():requires_grad_()
          local ops = tg.autograd.grad({f(x2)}, {x2}, {gout}, {create_graph = true})[1]
          H.assert_close(fused, ops, dt == "float32" and 1e-6 or 1e-13)
        end
        -- sum()'s backward hands down an expanded (stride 0) gradient
        local x3 = base:detach():requires_grad_()
        f(x3):sum():backward()
        local x4 = base:detach():requires_grad_()
        local ops = tg.autograd.grad({f(x4):sum()}, {x4}, nil, {create_graph = true})[1]
        H.assert_close(x3.grad, ops, dt == "float32" and 1e-6 or 1e-13)
      end)
    end
  end
end)

describe("activations: odd inputs", function()
  for _, a in ipairs(ACTS) do
    it(("%s(%s): 0-d, empty, non-contiguous"):format(a[1], a[2]), function()
      local f = caller(a[1], a[2])
      -- 0-d
      local s = tg.tensor(0.37, {dtype = tg.float64, requires_grad = true})
      local ys = f(s)
      assert.are.equal(0, ys:dim())
      H.assert_close(ys, f(tg.tensor({0.37}, {dtype = tg.float64})), 1e-15)
      ys:backward()
      assert.are.equal(0, s.grad:dim())
      -- empty
      local e = tg.zeros({0, 3}, {dtype = tg.float64}):requires_grad_()
      local ye = f(e)
      assert.are.same({0, 3}, ye.shape)
      ye:sum():backward()
      assert.are.same({0, 3}, e.grad.shape)
      -- a transposed view and a strided slice give what their contiguous copies give
      local x = smooth_input({4, 6}):detach()
      H.assert_close(f(x:t()), f(x:t():contiguous()), 1e-15)
      local sl = x:narrow(2, 2, 3)
      H.assert_close(f(sl), f(sl:contiguous()), 1e-15)
    end)
  end
end)

describe("activations: arguments and refusals as PyTorch", function()
  it("integer inputs: refused with PyTorch's kernel names, hardtanh/relu6 keep integers", function()
    local xi = tg.tensor({1, -2, 3})
    H.errors("\"elu_cpu\" not implemented for 'Long'", F.elu, xi)
    H.errors("\"elu_cpu\" not implemented for 'Long'", F.selu, xi)
    H.errors("\"elu_cpu\" not implemented for 'Long'", F.celu, xi)
    H.errors("\"leaky_relu_cpu\" not implemented for 'Long'", F.leaky_relu, xi)
    H.errors("\"hardswish_cpu\" not implemented for 'Long'", F.hardswish, xi)
    H.errors("\"hardsigmoid_cpu\" not implemented for 'Long'", F.hardsigmoid, xi)
    H.errors("\"mish_cpu\" not implemented for 'Long'", F.mish, xi)
    H.errors("\"log_sigmoid_cpu\" not implemented for 'Long'", F.logsigmoid, xi)
    local h = F.hardtanh(xi)
    assert.are.equal(tg.int64, h.dtype)
    assert.are.same({1, -1, 1}, h:tolist())
    assert.are.same({1, 0, 3}, F.relu6(xi):tolist())
    H.errors("Bool inputs not supported for hardtanh", F.hardtanh, tg.tensor({true, false}))
  end)

  it("parameters: hardtanh bounds, celu alpha 0, unknown options, non-numbers", function()
    local x = H.d64({-1, 0.5, 2})
    H.errors("min_val cannot be greater than max_val", F.hardtanh, x, 2.0, 1.0)
    H.errors("ZeroDivisionError: alpha cannot be 0 for CELU", F.celu, x, 0.0)
    H.errors("elu() got an unexpected keyword argument 'slope'", F.elu, x, {slope = 1})
    H.errors("argument 'negative_slope' must be Number", F.leaky_relu, x, "a")
    H.assert_close(F.hardtanh(x, {min_val = 0.0, max_val = 1.0}), {0, 0.5, 1}, 1e-15)
    H.assert_close(F.elu(x, {alpha = 2.0}), {2 * (math.exp(-1) - 1), 0.5, 2}, 1e-15)
  end)

  it("in place with a negative slope: the backward refuses as PyTorch's", function()
    local x = H.d64({-1, 0.5, 2})
    local y = x * 1
    F.leaky_relu(y, -0.1, true)
    assert.are.equal("LeakyReluBackward1", y.grad_fn.name)
    H.errors("In-place leakyReLu backward calculation is triggered with a negative slope which is not supported",
      function() y:sum():backward() end)
    local z = x * 1
    F.elu(z, {alpha = -0.5, inplace = true})
    H.errors("In-place elu backward calculation is triggered with a negative slope which is not supported",
      function() z:sum():backward() end)
    -- out of place they differentiate
    local w = F.leaky_relu(x, -0.1)
    w:sum():backward()
    H.assert_close(x.grad, {-0.1, 1, 1}, 1e-15)
  end)

  it("in place on a leaf that requires grad is refused; without grad it writes in place", function()
    local x = H.d64({-1, 0.5, 2})
    H.errors("a leaf Variable that requires grad is being used in an in-place operation.", F.elu, x, {inplace = true})
    local p = tg.tensor({-1, 0.5, 2}, {dtype = tg.float32})
    local v0 = p:_version()
    assert.is_true(rawequal(p, F.hardswish(p, true)))
    assert.are.equal(v0 + 1, p:_version())
    H.assert_close(p, {-1 * 2 / 6, 0.5 * 3.5 / 6, 2 * 5 / 6}, 1e-6)
  end)

  it("tg.selu, tg.celu and their in-place forms (torch.selu, torch.celu)", function()
    local x = H.d64({-1, 0.5, 2})
    assert.are.equal("EluBackward0", tg.selu(x).grad_fn.name)
    assert.are.equal("CeluBackward0", tg.celu(x, 0.5).grad_fn.name)
    H.assert_close(tg.celu(x, 0.5), F.celu(x, 0.5), 0)
    local y = x * 1
    tg.selu_(y)
    assert.are.equal("EluBackward1", y.grad_fn.name)
    H.assert_close(y, F.selu(x), 1e-15)
    local z = x * 1
    tg.celu_(z, 0.5)
    assert.are.equal("CeluBackward1", z.grad_fn.name)
  end)

  it("modules use the core ops", function()
    local x = H.d64({-1, 0.5, 2})
    assert.are.equal("EluBackward0", tg.nn.ELU(0.5)(x).grad_fn.name)
    assert.are.equal("CeluBackward0", tg.nn.CELU()(x).grad_fn.name)
    assert.are.equal("LeakyReluBackward0", tg.nn.LeakyReLU()(x).grad_fn.name)
    assert.are.equal("HardtanhBackward0", tg.nn.ReLU6()(x).grad_fn.name)
    assert.are.equal("HardsigmoidBackward0", tg.nn.Hardsigmoid()(x).grad_fn.name)
    assert.are.equal("LogSigmoidBackward0", tg.nn.LogSigmoid()(x).grad_fn.name)
    assert.are.equal("MishBackward0", tg.nn.Mish()(x).grad_fn.name)
    local y = x * 1
    tg.nn.LeakyReLU(0.1, true)(y)
    assert.are.equal("LeakyReluBackward1", y.grad_fn.name)
  end)
end)
