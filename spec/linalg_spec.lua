-- linalg_spec.lua: dot, mv, outer, addmm, baddbmm, einsum (and the grad_fn
-- names of mm/bmm/matmul): values, PyTorch's names and messages, gradcheck
-- and second-order gradcheck in float64.
local tg = require "tgrad"

local function randn(...) return tg.randn({...}, {dtype = tg.float64, requires_grad = true}) end
local function maxdiff(a, b) return (a - b):abs():max():item() end

-- second order: gradcheck of the gradients of sum(fn(...) * w), as one flat output
local function gradgradcheck(fn, ins)
  local w
  return tg.autograd.gradcheck(function(...)
    local args = {...}
    return tg.enable_grad(function()
      local out = fn(table.unpack(args))
      w = w or tg.randn(out.shape, {dtype = tg.float64})
      local gs = tg.autograd.grad((out * w):sum(), args, nil, {create_graph = true, allow_unused = true})
      local flat = {}
      for i = 1, #args do if gs[i] then flat[#flat + 1] = gs[i]:reshape(-1) end end
      return tg.cat(flat)
    end)
  end, ins)
end

describe("dot, mv, outer", function()
  local a = tg.tensor({1.0, 2.0, 3.0})
  local b = tg.tensor({4.0, -5.0, 6.0})
  local m = tg.tensor({{1.0, 0.0, 2.0}, {0.0, 1.0, -1.0}})

  it("compute", function()
    assert.are.equal(12, tg.dot(a, b):item())
    assert.are.equal(0, a:dot(b):dim())
    assert.are.same({7, -1}, tg.mv(m, a):tolist())
    assert.are.same({{4, -5, 6}, {8, -10, 12}, {12, -15, 18}}, tg.outer(a, b):tolist())
    assert.are.same({1, 1, 1}, m:t():mv(tg.tensor({1.0, 1.0})):tolist())
  end)

  it("strided vectors and transposed matrices", function()
    local x = tg.arange(0.0, 6.0):reshape(3, 2)
    assert.are.equal(0 * 1 + 2 * 3 + 4 * 5, tg.dot(x[{{}, 1}], x[{{}, 2}]):item())
    assert.are.same({6, 16}, tg.tensor({{1.0, 0.0, 1.0}, {0.0, 2.0, 2.0}}):mv(x[{{}, 2}]):tolist())
    assert.are.same({6, 9}, x:t():mv(tg.tensor({1.0, 1.0, 1.0})):tolist())
  end)

  it("have PyTorch's grad_fn names", function()
    local x, y, z = randn(3), randn(3), randn(2, 3)
    assert.are.equal("DotBackward0", tg.dot(x, y).grad_fn.name)
    assert.are.equal("MvBackward0", tg.mv(z, x).grad_fn.name)
    assert.are.equal("MulBackward0", tg.outer(x, y).grad_fn.name) -- PyTorch composes outer as a product
    assert.are.equal("MmBackward0", tg.mm(z, z:t()).grad_fn.name)
    assert.are.equal("BmmBackward0", tg.bmm(z:unsqueeze(2), z:unsqueeze(3)).grad_fn.name)
  end)

  it("matmul dispatches as PyTorch does (and so names its grad_fn the same)", function()
    local v, m, b3 = randn(4), randn(3, 4), randn(2, 3, 4)
    assert.are.equal("DotBackward0", tg.matmul(v, v).grad_fn.name)
    assert.are.equal("MvBackward0", tg.matmul(m, v).grad_fn.name)
    assert.are.equal("MmBackward0", tg.matmul(m, m:t()).grad_fn.name)
    assert.are.equal("SqueezeBackward4", tg.matmul(v, m:t()).grad_fn.name)
    assert.are.equal("UnsafeViewBackward0", tg.matmul(b3, m:t()).grad_fn.name)
    assert.are.equal("UnsafeViewBackward0", tg.matmul(b3, v).grad_fn.name)
    assert.are.equal("UnsafeViewBackward0", tg.matmul(b3, b3:transpose(2, 3)).grad_fn.name)
    assert.are.same({2, 3}, tg.matmul(b3, v).shape)
    assert.is_true(tg.autograd.gradcheck(tg.matmul, {b3, randn(4, 2)}))
    assert.is_true(tg.autograd.gradcheck(function(p, q) return tg.matmul(p:transpose(1, 2), q) end, {b3, randn(4)}))
    assert.has_error(function() tg.matmul(b3, tg.zeros(3, 2, {dtype = tg.float64})) end,
      "mat1 and mat2 shapes cannot be multiplied (6x4 and 3x2)")
  end)

  it("gradcheck, first and second order", function()
    local x, y, z = randn(4), randn(4), randn(3, 4)
    assert.is_true(tg.autograd.gradcheck(tg.dot, {x, y}))
    assert.is_true(tg.autograd.gradcheck(tg.mv, {z, x}))
    assert.is_true(tg.autograd.gradcheck(function(p, q) return tg.mv(p:t(), q) end, {z, randn(3)}))
    assert.is_true(tg.autograd.gradcheck(tg.outer, {x, randn(2)}))
    assert.is_true(gradgradcheck(tg.dot, {x, y}))
    assert.is_true(gradgradcheck(tg.mv, {z, x}))
    assert.is_true(gradgradcheck(tg.outer, {x, y}))
  end)

  it("raise PyTorch's messages", function()
    assert.has_error(function() tg.dot(m, a) end, "1D tensors expected, but got 2D and 1D tensors")
    assert.has_error(function() tg.dot(a, tg.zeros(4)) end,
      "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and 4 elements respectively")
    assert.has_error(function() tg.dot(a, b:double()) end, "dot : expected both vectors to have same dtype, but found Float and Double")
    assert.has_error(function() tg.mv(tg.zeros(3, 2), a) end, "size mismatch, got input (3), mat (3x2), vec (3)")
    assert.has_error(function() tg.mv(a, a) end, "vector + matrix @ vector expected, got 1, 1, 1")
    assert.has_error(function() tg.outer(m, a) end, "outer: Expected 1-D argument self, but got 2-D")
  end)
end)

describe("addmm, baddbmm", function()
  it("compute beta * self + alpha * (a @ b) with self broadcast", function()
    local a = tg.tensor({{1.0, 2.0}, {3.0, 4.0}})
    local i = tg.eye(2)
    assert.are.same({{2, 3}, {4, 5}}, tg.addmm(tg.ones(2, 2), a, i):tolist())
    assert.are.same({{3, 5}, {7, 9}}, tg.addmm(tg.ones(2), a, i, {alpha = 2}):tolist())
    assert.are.same({{-1, 0}, {1, 2}}, tg.ones(2, 1):addmm(a, i, {beta = -2}):tolist())
    local nan = tg.full({2, 2}, 0 / 0)
    assert.are.same({{1, 2}, {3, 4}}, tg.addmm(nan, a, i, {beta = 0}):tolist()) -- beta = 0 ignores self
    local r = tg.baddbmm(tg.ones(2, 2, 2), a:expand(2, 2, 2), i:expand(2, 2, 2), {beta = 0.5, alpha = -1})
    assert.are.same({{-0.5, -1.5}, {-2.5, -3.5}}, r[2]:tolist())
  end)

  it("have PyTorch's grad_fn names", function()
    assert.are.equal("AddmmBackward0", tg.addmm(randn(2), randn(2, 3), randn(3, 2)).grad_fn.name)
    assert.are.equal("BaddbmmBackward0", tg.baddbmm(randn(2), randn(2, 2, 3), randn(2, 3, 2)).grad_fn.name)
  end)

  it("gradcheck, first and second order", function()
    local s, a, b = randn(3, 2), randn(3, 4), randn(4, 2)
    local f = function(x, y, z) return tg.addmm(x, y, z, {beta = 0.5, alpha = -2}) end
    assert.is_true(tg.autograd.gradcheck(f, {s, a, b}))
    assert.is_true(tg.autograd.gradcheck(function(x, y, z) return tg.addmm(x, y:t():t(), z) end, {randn(2), a, b}))
    assert.is_true(gradgradcheck(f, {s, a, b}))
    local bs, ba, bb = randn(1, 2), randn(2, 3, 4), randn(2, 4, 2)
    local g = function(x, y, z) return tg.baddbmm(x, y, z, {beta = 2, alpha = 0.5}) end
    assert.is_true(tg.autograd.gradcheck(g, {bs, ba, bb}))
    assert.is_true(gradgradcheck(g, {bs, ba, bb}))
  end)

  it("raise clean errors", function()
    assert.has_error(function() tg.addmm(tg.zeros(3), tg.zeros(2, 3), tg.zeros(3, 2)) end,
      "The expanded size of the tensor (2) must match the existing size (3) at non-singleton dimension 2.  Target sizes: [2, 2].  Tensor sizes: [3]")
    assert.has_error(function() tg.addmm(tg.zeros(2, 2), tg.zeros(2, 3), tg.zeros(2, 2)) end,
      "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x2)")
    assert.has_error(function() tg.addmm(tg.zeros(2, 2, {dtype = tg.float64}), tg.zeros(2, 3), tg.zeros(3, 2)) end,
      "self and mat2 must have the same dtype, but got Double and Float")
    assert.has_error(function() tg.baddbmm(tg.zeros(2), tg.zeros(2, 3), tg.zeros(3, 2)) end, "batch1 must be a 3D tensor")
  end)
end)

describe("einsum", function()
  local a, b = randn(3, 4), randn(4, 2)

  it("matches the equivalent ops", function()
    assert.is_true(maxdiff(tg.einsum("ij,jk->ik", a, b), tg.matmul(a, b)) < 1e-12)
    assert.is_true(maxdiff(tg.einsum("ij,jk", {a, b}), tg.matmul(a, b)) < 1e-12)
    assert.is_true(maxdiff(tg.einsum("ij->ji", a), a:t()) < 1e-12)
    assert.is_true(maxdiff(tg.einsum("ij->j", a), a:sum(1)) < 1e-12)
    assert.is_true(maxdiff(tg.einsum("ij->", a), a:sum()) < 1e-12)
    local sq = randn(3, 3)
    local diag = tg.tensor({sq[{1, 1}]:item(), sq[{2, 2}]:item(), sq[{3, 3}]:item()}, {dtype = tg.float64})
    assert.is_true(maxdiff(tg.einsum("ii->i", sq), diag) < 1e-12)
    assert.is_true(math.abs(tg.einsum("ii", sq):item() - diag:sum():item()) < 1e-12)
    local x, y = randn(2, 3, 4), randn(2, 4, 5)
    assert.is_true(maxdiff(tg.einsum("bij,bjk->bik", x, y), tg.bmm(x, y)) < 1e-12)
    local w = randn(4, 2)
    assert.is_true(maxdiff(tg.einsum("...ij,jk->...ik", x, w), tg.matmul(x, w)) < 1e-12)
    assert.are.same({2, 3, 2}, tg.einsum("...ij,jk->...ik", x, b).shape)
    assert.are.same({2, 3, 4}, tg.einsum("i,j,k->ijk", randn(2), randn(3), randn(4)).shape)
    assert.are.same({3}, tg.einsum("ij,ij->i", a, a).shape)
  end)

  it("is differentiable (first and second order) through the ops it is built from", function()
    assert.is_true(tg.autograd.gradcheck(function(p, q) return tg.einsum("ij,jk->ik", p, q) end, {a, b}))
    assert.is_true(tg.autograd.gradcheck(function(p) return tg.einsum("ii->i", p) end, {randn(3, 3)}))
    assert.is_true(tg.autograd.gradcheck(function(p, q, r) return tg.einsum("bn,anm,bm->ba", p, q, r) end,
      {randn(2, 3), randn(2, 3, 4), randn(2, 4)}))
    assert.is_true(gradgradcheck(function(p, q) return tg.einsum("bij,bjk->bik", p, q) end, {randn(2, 2, 3), randn(2, 3, 2)}))
  end)

  it("raises clean errors", function()
    assert.has_error(function() tg.einsum("ij,jk->ik", a) end, "einsum(): fewer operands were provided than specified in the equation")
    assert.has_error(function() tg.einsum("ij->ij", a, b) end, "einsum(): more operands were provided than specified in the equation")
    assert.has_error(function() tg.einsum("ijk->i", a) end,
      "einsum(): the number of subscripts in the equation (3) does not match the number of dimensions (2) for operand 1 and no ellipsis was given")
    assert.has_error(function() tg.einsum("ij->k", a) end,
      "einsum(): output subscript k does not appear in the equation for any input operand")
    assert.has_error(function() tg.einsum("ij,ij->i", a, b) end)
    assert.has_error(function() tg.einsum("i1->i", a) end)
  end)
end)
