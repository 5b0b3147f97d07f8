-- reduce_spec.lua: the reductions (issue 3) against PyTorch, gradcheck, dtypes, errors.
-- The fixtures (spec/fixtures/reduce.lua) are written by tools/gen_reduce_fixtures.py;
-- each case evaluates a Lua expression over inputs a, b, compares every output
-- (shape, dtype, values within tol), then backpropagates sum_k sum(out_k * grad_out_k)
-- and compares each input's .grad; float64 differentiable cases also go through
-- tg.autograd.gradcheck. Cases named gg_* differentiate a gradient taken with
-- create_graph = true (second derivatives of the backward formulas).
local tg = require "tgrad"
local fx = require "support.fixtures"
local errs = require("support.helpers").errors

describe("reductions vs PyTorch fixtures", function()
  fx.add_cases(it, fx.load("reduce"))
end)

---------------------------------------------------------------- by hand
describe("reduction results", function()
  it("max(d) and min(d) return values and 1-based int64 indices; max() one value", function()
    local x = tg.tensor({{1, 5, 3}, {4, 2, 6}})
    local v, i = x:max(2)
    assert.same({5, 6}, v:tolist())
    assert.same({2, 3}, i:tolist())
    assert.equal(tg.int64, i.dtype)
    assert.equal(1, select("#", x:max()))
    assert.equal(2, select("#", x:min(1)))
    assert.equal(6, x:max():item())
    assert.is_nil(i.grad_fn)
  end)

  it("argmax/argmin give the first occurrence, 1-based, over the flattened tensor without dim", function()
    local x = tg.tensor({{1, 7, 7}, {7, 0, 0}})
    assert.equal(2, x:argmax():item())
    assert.equal(5, x:argmin():item())
    assert.equal(tg.int64, x:argmax().dtype)
  end)

  it("int64 and bool inputs keep integer results", function()
    local i = tg.tensor({{1, 2}, {3, 4}})
    assert.equal(tg.int64, i:prod().dtype)
    assert.equal(24, i:prod():item())
    assert.equal(tg.int64, i:cumsum(1).dtype)
    assert.equal(tg.int64, i:cumprod(2).dtype)
    assert.equal(tg.int64, i:amax(1).dtype)
    assert.equal(tg.bool, i:all().dtype)
    assert.equal(tg.bool, i:any(1).dtype)
    assert.equal(tg.int64, i:count_nonzero().dtype)
    local b = tg.tensor({true, false, true})
    assert.equal(tg.int64, b:sum().dtype)
    assert.equal(tg.int64, b:prod().dtype)
    assert.equal(tg.bool, b:max().dtype)
    assert.equal(tg.int64, b:cumsum(1).dtype)
    assert.equal(2, b:count_nonzero():item())
    assert.equal(tg.float32, i:logsumexp(1).dtype)
  end)

  it("float32 reductions accumulate in double", function()
    local x = tg.full({1000000}, 0.1)
    assert(math.abs(x:sum():item() - 100000) < 1e-2)
    assert(math.abs(x:prod(1, true):log():item() - 1000000 * math.log(0.1)) < 1 or x:prod():item() == 0)
    assert(math.abs(x:var():item()) < 1e-6)
    assert(math.abs(x:norm():item() - math.sqrt(10000)) < 1e-3)
    assert(math.abs(x:logsumexp(1):item() - (0.1 + math.log(1000000))) < 1e-4)
    local c = x:cumsum(1)
    assert(math.abs(c[1000000]:item() - 100000) < 1e-2)
  end)

  it("large reductions along a non-last dim match a reference computed by lanes", function()
    tg.manual_seed(3)
    local x = tg.randn(300, 200, {dtype = tg.float64})
    local m = x:amax(1)
    local v, i = x:min(1)
    local s = x:var(1)
    for _, j in ipairs({1, 77, 200}) do
      local col = x:select(2, j)
      assert.equal(col:amax():item(), m[j]:item())
      assert.equal(col:min():item(), v[j]:item())
      assert.equal(col:argmin():item(), i[j]:item())
      assert(math.abs(col:var():item() - s[j]:item()) < 1e-12)
    end
    local sv = x:sort(1)
    for _, j in ipairs({1, 200}) do
      local col = sv:select(2, j)
      for r = 2, 300 do assert(col[r - 1]:item() <= col[r]:item()) end
    end
  end)

  it("max(a, b) with a tensor is the elementwise maximum", function()
    local a, b = tg.tensor({1, 5, 3}), tg.tensor({4, 2, 6})
    assert.same({4, 5, 6}, a:max(b):tolist())
    assert.same({1, 2, 3}, tg.min(a, b):tolist())
  end)

  it("grad_fn names are PyTorch's", function()
    local x = tg.randn(3, 4, {dtype = tg.float64, requires_grad = true})
    local names = {
      {x:prod(), "ProdBackward0"}, {x:prod(1), "ProdBackward1"}, {x:max(), "MaxBackward1"},
      {(x:max(1)), "MaxBackward0"}, {x:min(), "MinBackward1"}, {(x:min(2)), "MinBackward0"},
      {x:amax(1), "AmaxBackward0"}, {x:amin(), "AminBackward0"}, {x:var(), "VarBackward0"},
      {x:std(1), "StdBackward0"}, {x:norm(), "LinalgVectorNormBackward0"},
      {x:norm(1, 2), "LinalgVectorNormBackward0"}, {x:logsumexp(2), "LogsumexpBackward0"},
      {x:cumsum(1), "CumsumBackward0"}, {x:cumprod(2), "CumprodBackward0"}, {(x:sort(2)), "SortBackward0"},
      {(x:topk(2)), "TopkBackward0"}}
    for _, p in ipairs(names) do assert.equal("<" .. p[2] .. ">", tostring(p[1].grad_fn)) end
    local _, i = x:sort()
    assert.is_nil(i.grad_fn)
    assert.is_nil(x:argmax().grad_fn)
    assert.is_nil(x:all().grad_fn)
  end)

  it("cumprod backward is exact at zeros with and without create_graph", function()
    local data = {{2.0, 0.0, 3.0, 0.0, 1.5}, {0.0, -1.0, 2.0, 4.0, 0.5}}
    local x = tg.tensor(data, {dtype = tg.float64, requires_grad = true})
    local g1 = tg.autograd.grad(x:cumprod(2):sum(), x)[1]
    local g2 = tg.autograd.grad(x:cumprod(2):sum(), x, {create_graph = true})[1]
    for r = 1, 2 do for c = 1, 5 do
      -- d/dx_k sum_i prod_{j<=i} x_j = sum_{i>=k} prod_{j<=i, j~=k} x_j
      local want = 0
      for i = c, 5 do
        local p = 1
        for j = 1, i do if j ~= c then p = p * data[r][j] end end
        want = want + p
      end
      assert(math.abs(g1[r][c]:item() - want) < 1e-12)
      assert(math.abs(g2[r][c]:item() - want) < 1e-12)
    end end
  end)
end)

describe("reduction errors", function()
  local x = tg.randn(2, 3)
  it("dims out of range", function()
    errs("Dimension out of range (expected to be in range of [-2, 2], but got 3)", function() return x:prod(3) end)
    errs("Dimension out of range (expected to be in range of [-2, 2], but got -3)", function() return x:amax({1, -3}) end)
    errs("Dimension out of range", function() return x:max(0) end)
    errs("Dimension out of range", function() return x:cumsum(5) end)
    errs("Dimension out of range", function() return x:sort(3) end)
    errs("Dimension out of range", function() return x:topk(1, -3) end)
    errs("Dimension out of range", function() return x:argmax(3) end)
    errs("Dimension out of range", function() return x:norm(2, 3) end)
  end)
  it("repeated dims", function()
    errs("dim 1 appears multiple times in the list of dims", function() return x:amax({1, -2}) end)
    errs("appears multiple times", function() return x:var({2, 2}) end)
    errs("appears multiple times", function() return x:logsumexp({1, 1}) end)
  end)
  it("topk k out of range, bool topk", function()
    errs("selected index k out of range", function() return x:topk(4, 2) end)
    errs("selected index k out of range", function() return x:topk(-1) end)
    errs("not implemented for 'Bool'", function() return tg.tensor({true, false}):topk(1) end)
  end)
  it("empty tensors", function()
    local e = tg.zeros(0, 3)
    errs("max(): Expected reduction dim to be specified for input.numel() == 0.", function() return e:max() end)
    errs("min(): Expected reduction dim 1 to have non-zero size.", function() return e:min(1) end)
    errs("amax(): Expected reduction dim to be specified for input.numel() == 0.", function() return e:amax() end)
    errs("argmax(): Expected reduction dim to be specified for input.numel() == 0.", function() return e:argmax() end)
    errs("argmin(): Expected reduction dim 1 to have non-zero size.", function() return e:argmin(1) end)
    errs("cannot compute the inf norm on an empty tensor", function() return e:norm(math.huge) end)
  end)
  it("dtypes", function()
    local i = tg.tensor({1, 2, 3})
    errs("std and var only support floating point and complex dtypes", function() return i:var() end)
    errs("std and var only support floating point and complex dtypes", function() return i:std() end)
    errs("linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long", function() return i:norm() end)
    errs("mean(): could not infer output dtype", function() return i:mean() end)
  end)
  it("bad arguments", function()
    errs("cumsum() missing required argument 'dim'", function() return x:cumsum() end)
    errs("cumprod() missing required argument 'dim'", function() return x:cumprod() end)
    errs("unsupported norm type 'nuc'", function() return x:norm("nuc") end)
    errs("expected a dim (integer) or a Tensor", function() return x:max("a") end)
    errs("number expected, got string", function() return x:topk("k") end)
  end)
end)

describe("reduction gradients at the edges (as PyTorch)", function()
  local helpers = require "support.helpers"
  it("std's gradient is 0 where the std is 0, not NaN", function()
    local x = helpers.d64({1, 1, 1})
    x:std():backward()
    helpers.assert_close(x.grad, {0, 0, 0})
    local y = helpers.d64({{1, 1}, {1, 3}})
    y:std(2):sum():backward()
    helpers.assert_close(y.grad, {0, 0, -0.7071067811865475, 0.7071067811865475})
  end)

  it("max() and min() of everything send the gradient to the NaN that made the result", function()
    local x = helpers.d64({1, 0 / 0, 3})
    x:max():backward()
    helpers.assert_close(x.grad, {0, 1, 0})
    x.grad = nil
    x:min():backward()
    helpers.assert_close(x.grad, {0, 1, 0})
    local y = helpers.d64({1, 3, 3})
    y:max():backward()
    helpers.assert_close(y.grad, {0, 0.5, 0.5})
  end)
end)
