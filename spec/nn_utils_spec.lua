-- nn_utils_spec.lua: tg.nn.utils (clip_grad_norm_ against PyTorch's values,
-- clip_grad_value_, parameters_to_vector / vector_to_parameters), ported
-- from PyTorch's test_clip_grad_norm / test_clip_grad_value / test_vector_to_parameters.
local tg = require "tgrad"
local fx = require "support.fixtures"
local H = require "support.helpers"
local nn, U = tg.nn, tg.nn.utils
local FIX = fx.load("nn_module")

describe("clip_grad_norm_", function()
  for i, c in ipairs(FIX.clip) do
    it(("case %d: max_norm %s, norm_type %s"):format(i, c.max_norm, c.norm_type), function()
      local ps = {}
      for k, g in ipairs(c.grads) do
        ps[k] = tg.zeros(g.shape, {dtype = tg.float64, requires_grad = true})
        ps[k].grad = fx.build(g)
      end
      local total = U.clip_grad_norm_(ps, c.max_norm, {norm_type = c.norm_type})
      assert.is_true(tg.is_tensor(total))
      H.assert_close(total, c.total, 1e-12)
      for k, want in ipairs(c.clipped) do fx.check_tensor("grad " .. k, ps[k].grad, want, 1e-12) end
    end)
  end

  it("takes a single tensor, skips parameters without grad, returns 0 without any", function()
    local p = tg.zeros(4, {requires_grad = true})
    p.grad = tg.full({4}, 2.0)
    local q = tg.zeros(2, {requires_grad = true})
    H.assert_close(U.clip_grad_norm_(p, 1.0), 4.0, 1e-6)
    H.assert_close(p.grad, tg.full({4}, 2.0 / (4 + 1e-6)), 1e-6)
    H.assert_close(U.clip_grad_norm_({q}, 1.0), 0.0)
    -- positional norm_type as PyTorch, and a module's parameters
    local m = nn.Linear(3, 2)
    m(tg.randn(5, 3)):sum():backward()
    local before = math.max(m.weight.grad:abs():amax():item(), m.bias.grad:abs():amax():item())
    local tot = U.clip_grad_norm_(m:parameters(), 1e-3, "inf")
    H.assert_close(tot, before, 1e-6)
    local after = math.max(m.weight.grad:abs():amax():item(), m.bias.grad:abs():amax():item())
    H.assert_close(after, 1e-3 * before / (before + 1e-6), 1e-5)
  end)

  it("error_if_nonfinite", function()
    local p = tg.zeros(2, {requires_grad = true})
    p.grad = tg.tensor({1.0, math.huge})
    H.errors("The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped.",
      U.clip_grad_norm_, {p}, 1.0, {error_if_nonfinite = true})
    local total = U.clip_grad_norm_({p}, 1.0)   -- default: scaled by the non-finite norm
    assert.are.equal(math.huge, total:item())
  end)
end)

describe("clip_grad_value_", function()
  it("clamps every gradient in place", function()
    local a, b = tg.zeros(3, {requires_grad = true}), tg.zeros(2, {requires_grad = true})
    a.grad = tg.tensor({-3.0, 0.5, 2.0})
    b.grad = tg.tensor({10.0, -0.25})
    local ga = a.grad
    U.clip_grad_value_({a, b}, 1.0)
    assert.are.equal(ga, a.grad)
    H.assert_close(a.grad, {-1.0, 0.5, 1.0})
    H.assert_close(b.grad, {1.0, -0.25})
  end)
end)

describe("parameters_to_vector / vector_to_parameters", function()
  it("round trip and shared storage", function()
    local s = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(5, 2))
    local v = U.parameters_to_vector(s:parameters())
    assert.are.same({4 * 3 * 9 + 4 + 10 + 2}, v.shape)
    H.assert_close(v:narrow(1, 1, 4 * 27), s[1].weight:reshape(-1), 0)
    local nv = tg.arange(0.0, v:numel())
    U.vector_to_parameters(nv, s:parameters())
    H.assert_close(s[2].bias, {v:numel() - 2, v:numel() - 1})
    nv:fill_(1)
    H.assert_close(s[1].weight, tg.ones(4, 3, 3, 3))   -- the parameters view nv's storage
    assert.is_true(s[1].weight.requires_grad)
    H.errors("expected torch.Tensor, but got: table", U.vector_to_parameters, {}, s:parameters())
  end)

  it("parameters_to_vector is differentiable", function()
    local a = tg.randn(2, 2, {requires_grad = true})
    local v = U.parameters_to_vector({a})
    local loss = (v * tg.arange(1.0, 5.0)):sum()
    loss:backward()
    H.assert_close(a.grad, {1, 2, 3, 4})
  end)
end)
