-- gemm_spec.lua: matrix products through both CPU paths, tgrad's own kernel
-- for small and skinny products (src/backend/cpu/cpu_gemm_small.c, up to
-- 96^3 multiply-adds) and the BLAS above it: values against a float64
-- reference computed here in Lua, transposed and strided views, batched 3-D,
-- empty and 0-size dims, float32/float64/int64.
local tg = require "tgrad"

-- C = A @ B in float64 without any matrix product (a broadcast multiply and a
-- sum over k), and the scale sum_p |a_ip b_pj| each element's rounding error
-- is relative to
local function reference(a, b)
  local prod = a:double():unsqueeze(3) * b:double():unsqueeze(1) -- m x k x n
  return prod:sum(2), prod:abs():sum(2)
end

-- every element within tol * its scale of the float64 reference
local function check(a, b, tol)
  local c = tg.matmul(a, b)
  assert.are.same({a.shape[1], b.shape[2]}, c.shape)
  assert.are.equal(a.dtype, c.dtype)
  local C, S = reference(a, b)
  local worst = (c:double() - C):abs():div(S:clamp(1e-300, math.huge)):max():item()
  assert(worst <= tol, string.format("%dx%d @ %dx%d %s: error %.3g > %.3g", a.shape[1], a.shape[2],
    b.shape[1], b.shape[2], tostring(a.dtype), worst, tol))
end

local TOL = {[tg.float32] = 1e-6 * 8, [tg.float64] = 1e-15 * 8}

-- (m, k, n): the kernel's (blocks of 4 rows x 2 vectors, edges, one row,
-- one column) and the BLAS's (above 96^3, the skinny matrix-vector case)
local SHAPES = {
  {5, 3, 1}, {1, 4, 32}, {32, 32, 32}, {1, 1, 1}, {4, 16, 16}, {7, 13, 17}, {3, 5, 9},
  {9, 31, 40}, {6, 2, 3}, {64, 1, 64}, {96, 96, 96}, -- the kernel
  {97, 96, 96}, {100, 100, 3}, {128, 64, 130}, -- the BLAS
}

describe("matmul on the small kernel and the BLAS", function()
  tg.manual_seed(7)

  for _, dt in ipairs({tg.float32, tg.float64}) do
    it("matches a float64 reference, " .. tostring(dt), function()
      for _, s in ipairs(SHAPES) do
        local a, b = tg.randn({s[1], s[2]}, {dtype = dt}), tg.randn({s[2], s[3]}, {dtype = dt})
        check(a, b, TOL[dt])
      end
    end)

    it("transposed and strided views, " .. tostring(dt), function()
      for _, s in ipairs(SHAPES) do
        local m, k, n = s[1], s[2], s[3]
        -- A and B as transposes of stored matrices
        local at, bt = tg.randn({k, m}, {dtype = dt}):t(), tg.randn({n, k}, {dtype = dt}):t()
        check(at, bt, TOL[dt])
        check(at, tg.randn({k, n}, {dtype = dt}), TOL[dt])
        -- column slices of wider matrices: row stride > columns
        local aw = tg.randn({m, k + 3}, {dtype = dt})[{{}, {2, k + 1}}]
        local bw = tg.randn({k, n + 5}, {dtype = dt})[{{}, {4, n + 3}}]
        check(aw, bw, TOL[dt])
        -- no unit stride at all: one plane of a 3-D tensor's last dim
        local a3 = tg.randn({m, k, 2}, {dtype = dt}):select(3, 2)
        local b3 = tg.randn({k, n, 3}, {dtype = dt}):select(3, 1)
        check(a3, b3, TOL[dt])
      end
    end)

    it("batched 3-D and broadcast batches, " .. tostring(dt), function()
      for _, s in ipairs({{5, 3, 1}, {4, 8, 16}, {7, 13, 17}, {33, 40, 50}}) do
        local m, k, n = s[1], s[2], s[3]
        local a, b = tg.randn({3, m, k}, {dtype = dt}), tg.randn({3, k, n}, {dtype = dt})
        local c = tg.bmm(a, b)
        assert.are.same({3, m, n}, c.shape)
        for i = 1, 3 do
          local ci = tg.matmul(a[i], b[i])
          assert.are.equal(0, (c[i] - ci):abs():max():item())
          check(a[i], b[i], TOL[dt])
        end
        -- batch of transposed views, and a 2-D operand broadcast over the batch
        local bt = tg.randn({3, n, k}, {dtype = dt}):transpose(2, 3)
        local ct = tg.matmul(a, bt)
        for i = 1, 3 do check(a[i], bt[i], TOL[dt]); assert.are.equal(0, (ct[i] - tg.matmul(a[i], bt[i])):abs():max():item()) end
        local w = tg.randn({k, n}, {dtype = dt})
        local cw = tg.matmul(a, w)
        assert.are.same({3, m, n}, cw.shape)
        for i = 1, 3 do assert.are.equal(0, (cw[i] - tg.matmul(a[i], w)):abs():max():item()) end
      end
    end)

    it("empty and 0-size dims, " .. tostring(dt), function()
      local z = tg.matmul(tg.randn({0, 3}, {dtype = dt}), tg.randn({3, 4}, {dtype = dt}))
      assert.are.same({0, 4}, z.shape)
      z = tg.matmul(tg.randn({3, 4}, {dtype = dt}), tg.randn({4, 0}, {dtype = dt}))
      assert.are.same({3, 0}, z.shape)
      -- k = 0: a sum of nothing, zeros (PyTorch's result)
      z = tg.matmul(tg.randn({3, 0}, {dtype = dt}), tg.randn({0, 4}, {dtype = dt}))
      assert.are.same({3, 4}, z.shape)
      assert.are.same({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, z:tolist())
      z = tg.bmm(tg.randn({0, 2, 3}, {dtype = dt}), tg.randn({0, 3, 5}, {dtype = dt}))
      assert.are.same({0, 2, 5}, z.shape)
      z = tg.bmm(tg.randn({2, 5, 0}, {dtype = dt}), tg.randn({2, 0, 1}, {dtype = dt}))
      assert.are.same({2, 5, 1}, z.shape)
      assert.are.equal(0, z:abs():sum():item())
    end)

    it("gradients through the small kernel, " .. tostring(dt), function()
      -- the seed loop's product and its backward (g @ w^T, x^T @ g: transposed views)
      local x = tg.randn({5, 3}, {dtype = dt, requires_grad = true})
      local w = tg.randn({3, 1}, {dtype = dt, requires_grad = true})
      local y = tg.matmul(x, w)
      y:sum():backward()
      local ones = tg.ones({5, 1}, {dtype = dt})
      check(ones, w:detach():t(), TOL[dt])
      assert.are.equal(0, (x.grad - tg.matmul(ones, w:detach():t())):abs():max():item())
      assert.are.equal(0, (w.grad - tg.matmul(x:detach():t(), ones)):abs():max():item())
      if dt == tg.float64 then
        assert.is_true(tg.autograd.gradcheck(tg.matmul, {
          tg.randn({4, 6}, {dtype = dt, requires_grad = true}), tg.randn({6, 9}, {dtype = dt, requires_grad = true})}))
      end
    end)
  end

  it("products split across tg.set_num_threads threads (rows or columns, transposed operands) match the reference", function()
    local before = tg.get_num_threads()
    for _, nt in ipairs({2, 3}) do
      tg.set_num_threads(nt)
      for _, dt in ipairs({tg.float32, tg.float64}) do
        for _, s in ipairs({{130, 70, 90}, {7, 200, 301}, {301, 64, 5}, {65, 65, 66}}) do
          local m, k, n = s[1], s[2], s[3]
          check(tg.randn({m, k}, {dtype = dt}), tg.randn({k, n}, {dtype = dt}), TOL[dt])
          check(tg.randn({k, m}, {dtype = dt}):t(), tg.randn({n, k}, {dtype = dt}):t(), TOL[dt])
        end
      end
    end
    tg.set_num_threads(before)
  end)

  it("int64 products are exact", function()
    for _, s in ipairs({{5, 3, 1}, {4, 16, 16}, {7, 13, 17}, {97, 96, 5}}) do
      local a = tg.randint(-50, 50, {s[1], s[2]})
      local b = tg.randint(-50, 50, {s[2], s[3]})
      local c = tg.matmul(a, b)
      assert.are.equal(tg.int64, c.dtype)
      local C = reference(a, b) -- exact in doubles: |values| < 2^53
      assert.are.same(C:tolist(), c:double():tolist())
      local ct = tg.matmul(tg.randint(-9, 9, {s[2], s[1]}):t(), b)
      assert.are.equal(tg.int64, ct.dtype)
    end
  end)

  it("float32 and float64 of the same values agree to float32 rounding", function()
    for _, s in ipairs(SHAPES) do
      local a, b = tg.randn({s[1], s[2]}, {dtype = tg.float64}), tg.randn({s[2], s[3]}, {dtype = tg.float64})
      local c64 = tg.matmul(a:float():double(), b:float():double())
      local c32 = tg.matmul(a:float(), b:float()):double()
      local scale = tg.matmul(a:float():double():abs(), b:float():double():abs())
      assert((c32 - c64):abs():le(scale * 1e-5 + 1e-30):all():item())
    end
  end)

  it("mismatched shapes still raise PyTorch's error", function()
    assert.has_error(function() tg.matmul(tg.randn(5, 3), tg.randn(4, 1)) end)
    local ok, err = pcall(tg.mm, tg.randn(5, 3), tg.randn(4, 1))
    assert.is_false(ok)
    assert.matches("mat1 and mat2 shapes cannot be multiplied %(5x3 and 4x1%)", err)
  end)
end)
