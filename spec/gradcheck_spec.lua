-- gradcheck_spec: tg.autograd.gradcheck itself on inputs of any strides
-- (the numerical Jacobian perturbs the input's own elements, never a copy)
local tg = require "tgrad"

describe("tg.autograd.gradcheck", function()
  it("passes on a transposed (non-contiguous) leaf", function()
    tg.manual_seed(0)
    local x = tg.randn(3, 4, {dtype = tg.float64}):t():detach():requires_grad_(true)
    assert.is_false(x:is_contiguous())
    assert.is_true(tg.autograd.gradcheck(function(a) return (a * a):sum() end, {x}))
  end)

  it("passes on a narrowed view of a larger leaf's data and restores the values", function()
    local base = tg.arange(0, 12, {dtype = tg.float64}):reshape(3, 4)
    local x = base:narrow(2, 2, 2):detach():requires_grad_(true)
    local before = x:clone()
    assert.is_true(tg.autograd.gradcheck(function(a) return a:exp() * 0.01 end, {x}))
    assert.are.equal(0, (x - before):abs():max():item())
  end)

  it("fails (raises) on a wrong gradient of a non-contiguous input", function()
    local Wrong = tg.autograd.Function{
      forward = function(ctx, a) return a * 2 end,
      backward = function(ctx, g) return g * 3 end,
    }
    local x = tg.randn(2, 3, {dtype = tg.float64}):t():detach():requires_grad_(true)
    assert.has_error(function() tg.autograd.gradcheck(function(a) return Wrong:apply(a) end, {x}) end)
  end)
end)
