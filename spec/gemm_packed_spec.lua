-- gemm_packed_spec.lua: float32 products through tgrad's packed GEMM
-- (src/backend/cpu/cpu_gemm_packed.c: n >= 16 and m n k > 96^3 on one thread, above 64^3 per product on
-- more, any size for m >= 16 and up to 256 x 512^2 below; a narrow C, 2 <= n < 16 with m and k >= 32,
-- transposed; conv's products through tg_cpu_gemm): every transposition of A and
-- B, column slices and operands with no unit stride, m and n that are not
-- multiples of the 6 x 16 (AVX2) / 6 x 32 (AVX-512) tile of the build the
-- CPU gets (with the 4-row last panel; bench/gemm_packed.c's forced builds
-- check the other one's blocking and the SSE2 one), k around the 256-deep blocks (1, 255-257, 300, 511-513,
-- 784), B read in place (small, rows contiguous) and packed, batched products,
-- 1-3 threads. Values against a float64 product (float64 BLAS) and, on
-- sampled elements (the corners and edges of every tile included), a plain
-- Lua loop over k.
local tg = require "tgrad"

-- a plain loop: C[i][j] = sum_p A[i][p] B[p][j] over row i of A and column j of B, in Lua doubles
local function loop_ref(arow, bcol)
  local acc, scale = 0, 0
  for p = 1, #bcol do
    local t = arow[p] * bcol[p]
    acc, scale = acc + t, scale + math.abs(t)
  end
  return acc, scale
end

-- every element within tol of a float64 product, relative to sum_p |a_ip b_pj|
local function check(a, b, what)
  local m, k, n = a.shape[1], a.shape[2], b.shape[2]
  local c = tg.matmul(a, b)
  assert.are.same({m, n}, c.shape)
  assert.are.equal(tg.float32, c.dtype)
  local ad, bd = a:double(), b:double()
  local C, S = tg.matmul(ad, bd), tg.matmul(ad:abs(), bd:abs())
  local tol = 2e-6 * math.max(8, math.sqrt(k))
  local worst = (c:double() - C):abs():div(S:clamp(1e-300, math.huge)):max():item()
  assert(worst <= tol, string.format("%s %dx%d @ %dx%d: error %.3g > %.3g", what or "", m, k, k, n, worst, tol))
  -- the plain loop on sampled elements: the four corners, the last rows/columns, tile edges, random ones
  local pts = {{1, 1}, {m, n}, {1, n}, {m, 1}}
  for _, i in ipairs({6, 7, 12, m - 1}) do
    for _, j in ipairs({8, 9, 16, 17, 32, 33, n - 1}) do
      if i >= 1 and i <= m and j >= 1 and j <= n then pts[#pts + 1] = {i, j} end
    end
  end
  for _ = 1, 40 do pts[#pts + 1] = {math.random(m), math.random(n)} end
  for _, ij in ipairs(pts) do
    local i, j = ij[1], ij[2]
    local r, s = loop_ref(ad[i]:tolist(), bd[{{}, j}]:tolist())
    local got = c[{i, j}]:item()
    local err = math.abs(got - r) / math.max(s, 1e-300)
    assert(err <= tol, string.format("%s %dx%d @ %dx%d at (%d, %d): %.9g vs loop %.9g", what or "", m, k, k, n,
      i, j, got, r))
  end
end

-- A (m x k) in one of four layouts: contiguous, a transposed view, a column slice of a wider matrix (row
-- stride > k), one plane of a 3-D tensor (no unit stride)
local function make(r, c, layout)
  if layout == "contig" then return tg.randn(r, c) end
  if layout == "t" then return tg.randn(c, r):t() end
  if layout == "slice" then return tg.randn(r, c + 5)[{{}, {3, c + 2}}] end
  return tg.randn(r, c, 2):select(3, 2)
end
local LAYOUTS = {"contig", "t", "slice", "plane"}

-- (m, k, n): the MLP's products at batch 64 (forward, g @ w^T, x^T @ g), edges of the tile and of the
-- k blocks; all above the small kernel's 96^3
local SHAPES = {
  {64, 784, 256}, {64, 256, 784}, {784, 64, 256}, {64, 256, 128}, {256, 64, 128}, {64, 128, 256},
  {1, 1000, 1000}, {1000, 1, 1000}, {4, 1000, 300}, {10, 512, 200}, {7, 513, 257}, {97, 255, 47},
  {101, 257, 33}, {37, 300, 131}, {200, 511, 17}, {300, 100, 100}, {301, 50, 16}, {5, 784, 250},
}

describe("matmul on tgrad's packed float32 GEMM", function()
  tg.manual_seed(11)
  math.randomseed(11)

  it("matches float64 and a plain loop on contiguous operands (MLP shapes, tile and block edges)", function()
    for _, s in ipairs(SHAPES) do check(tg.randn(s[1], s[2]), tg.randn(s[2], s[3])) end
  end)

  it("every transposition and stride of A and B", function()
    for _, s in ipairs({{64, 784, 256}, {784, 64, 256}, {64, 256, 784}, {13, 300, 45}, {100, 257, 100}, {301, 40, 17}}) do
      for _, la in ipairs(LAYOUTS) do
        for _, lb in ipairs(LAYOUTS) do
          check(make(s[1], s[2], la), make(s[2], s[3], lb), la .. "/" .. lb)
        end
      end
    end
  end)

  it("B read in place or packed by its row stride (L1 aliasing), the b256 MLP shapes, every layout", function()
    -- a small B with contiguous rows is read in place unless its row stride is a multiple of 64 bytes that
    -- touches few L1 sets for the panel's depth: n = 128, 256 (packed), n = 64 with k = 64 and n = 48, 100,
    -- 130 (in place), n = 64 with k = 128 (packed); the MLP's layers at batch 256 (A or B transposed as
    -- autograd makes them)
    for _, s in ipairs({{300, 64, 64}, {300, 128, 64}, {200, 100, 48}, {64, 256, 100}, {70, 250, 130},
                        {64, 256, 128}, {256, 64, 128}, {97, 200, 256}, {256, 784, 256}, {784, 256, 256},
                        {256, 256, 128}, {256, 128, 256},
                        -- k <= 64 (one shallow k block: C filled row panel by row panel, B in 512-column
                        -- chunks): n across the chunk, m across the 144-row block
                        {130, 64, 1100}, {20, 33, 1500}, {300, 64, 513}, {200, 17, 40}}) do
      for _, la in ipairs(LAYOUTS) do
        for _, lb in ipairs(LAYOUTS) do
          check(make(s[1], s[2], la), make(s[2], s[3], lb), "b " .. la .. "/" .. lb)
        end
      end
    end
    -- conv's GEMMs on 128-wide rows (1x1 kernel, 2 images: the weight gradient summed over them)
    local x = tg.randn(2, 64, 16, 16, {requires_grad = true})
    local w = tg.randn(128, 64, 1, 1, {requires_grad = true})
    local y = tg.nn.functional.conv2d(x, w)
    local g = tg.randn(table.unpack(y.shape))
    y:backward(g)
    local xd, wd = x:detach():double():requires_grad_(), w:detach():double():requires_grad_()
    local yd = tg.nn.functional.conv2d(xd, wd)
    yd:backward(g:double())
    for _, pair in ipairs({{y:detach(), yd:detach()}, {x.grad, xd.grad}, {w.grad, wd.grad}}) do
      local err = (pair[1]:double() - pair[2]):abs():max():item() / pair[2]:abs():max():item()
      assert(err < 1e-5, string.format("conv 1x1 error %.3g", err))
    end
  end)

  it("gives the same values as the float32 BLAS path (few rows above its bound) to rounding", function()
    -- 15 x 2200 x 2100 (m < 16 above 256 x 512 x 512): OpenBLAS; 16 rows of the same product: the packed GEMM
    local a, b = tg.randn(16, 2200), tg.randn(2200, 2100)
    local blas = tg.matmul(a[{{1, 15}}], b)
    local packed = tg.matmul(a, b)
    local scale = tg.matmul(a[{{1, 15}}]:abs(), b:abs())
    assert((blas - packed[{{1, 15}}]):abs():le(scale * 1e-5):all():item())
    check(a, b)
    check(a[{{1, 15}}], b)
  end)

  it("large products (squares, conv-like wide B, deep k not a multiple of the k block) in every layout", function()
    -- 520^3 and 300 x 700 x 650 are above the old bound; 64 x 300 x 3000 and 20 x 200 x 2500: one block of A
    -- with B in column chunks (n not a multiple of 16 or of the chunk); k = 700, 1100: blocks of equal depth
    for _, s in ipairs({{520, 520, 520}, {300, 700, 650}, {64, 300, 3000}, {20, 200, 2501}, {150, 1100, 40},
                        {145, 777, 200}}) do
      for _, l in ipairs({{"contig", "contig"}, {"t", "t"}, {"slice", "t"}, {"plane", "slice"}}) do
        check(make(s[1], s[2], l[1]), make(s[2], s[3], l[2]), l[1] .. "/" .. l[2])
      end
    end
  end)

  it("a narrow C (2 <= n < 16, m and k >= 32) through the transposed product, every layout", function()
    -- the MLP's last layer (64 x 128 @ 128 x 10) and its weight gradient (h^T @ g), n from 2 to 15, m and k at
    -- the bound (32) and across the 6-row / 16-column tiles and the k blocks
    for _, s in ipairs({{64, 128, 10}, {128, 64, 10}, {256, 128, 10}, {32, 32, 2}, {33, 300, 15}, {1000, 513, 7},
                        {97, 40, 3}, {40, 784, 12}}) do
      for _, la in ipairs(LAYOUTS) do
        for _, lb in ipairs(LAYOUTS) do
          check(make(s[1], s[2], la), make(s[2], s[3], lb), "narrow " .. la .. "/" .. lb)
        end
      end
    end
    -- below the bound (m or k < 32, n = 1, n = 16): the small kernel or the BLAS, the same values to rounding
    for _, s in ipairs({{31, 128, 10}, {64, 31, 10}, {64, 128, 1}, {64, 128, 16}, {16, 100, 15}}) do
      check(tg.randn(s[1], s[2]), tg.randn(s[2], s[3]), "near narrow")
    end
  end)

  it("conv's products (tg_cpu_gemm: beta 0 and 1, transposed operands) match the float64 conv", function()
    for _, nt in ipairs({1, 2}) do
      local before = tg.get_num_threads()
      tg.set_num_threads(nt)
      local x = tg.randn(2, 16, 20, 20, {requires_grad = true})
      local w = tg.randn(32, 16, 3, 3, {requires_grad = true})
      local bias = tg.randn(32, {requires_grad = true})
      local y = tg.nn.functional.conv2d(x, w, bias, {padding = 1})
      local g = tg.randn(table.unpack(y.shape))
      y:backward(g)
      local xd, wd, bd = x:detach():double():requires_grad_(), w:detach():double():requires_grad_(),
        bias:detach():double():requires_grad_()
      local yd = tg.nn.functional.conv2d(xd, wd, bd, {padding = 1})
      yd:backward(g:double())
      for _, pair in ipairs({{y:detach(), yd:detach()}, {x.grad, xd.grad}, {w.grad, wd.grad}}) do
        local err = (pair[1]:double() - pair[2]):abs():max():item() / pair[2]:abs():max():item()
        assert(err < 1e-5, string.format("%d threads: conv error %.3g", nt, err))
      end
      tg.set_num_threads(before)
    end
  end)

  it("batched products (bmm, a broadcast 2-D operand) take it per matrix", function()
    local a, b = tg.randn(3, 64, 300), tg.randn(3, 300, 70)
    local c = tg.bmm(a, b)
    for i = 1, 3 do
      check(a[i], b[i])
      assert.are.equal(0, (c[i] - tg.matmul(a[i], b[i])):abs():max():item())
    end
    local bt = tg.randn(3, 70, 300):transpose(2, 3)
    local ct = tg.matmul(a, bt)
    for i = 1, 3 do assert.are.equal(0, (ct[i] - tg.matmul(a[i], bt[i])):abs():max():item()) end
  end)

  it("k = 0, empty rows or columns", function()
    local z = tg.matmul(tg.randn(200, 0), tg.randn(0, 300))
    assert.are.same({200, 300}, z.shape)
    assert.are.equal(0, z:abs():sum():item())
    assert.are.same({0, 300}, tg.matmul(tg.randn(0, 500), tg.randn(500, 300)).shape)
    assert.are.same({300, 0}, tg.matmul(tg.randn(300, 500), tg.randn(500, 0)).shape)
  end)

  it("split across 1, 2 and 3 threads: the same values within rounding, rows or columns split", function()
    local before = tg.get_num_threads()
    local cases = {{64, 784, 256}, {784, 64, 256}, {7, 300, 700}, {301, 100, 50}, {65, 65, 66}, {400, 500, 600},
                   {64, 128, 10}, {100, 64, 3}, {70, 200, 2000}, {256, 256, 128}, {64, 256, 128}, {256, 64, 128}}
    local ref = {}
    local ops = {}
    for i, s in ipairs(cases) do
      ops[i] = {tg.randn(s[1], s[2]), tg.randn(s[3], s[2]):t()}
    end
    for _, nt in ipairs({1, 2, 3}) do
      tg.set_num_threads(nt)
      for i, s in ipairs(cases) do
        local c = tg.matmul(ops[i][1], ops[i][2])
        check(ops[i][1], ops[i][2], nt .. " threads")
        if nt == 1 then ref[i] = c
        else
          local scale = tg.matmul(ops[i][1]:abs(), ops[i][2]:abs())
          assert((c - ref[i]):abs():le(scale * 1e-5):all():item(), string.format("%d threads, case %d", nt, i))
        end
        assert.is_true(s[1] > 0)
      end
    end
    tg.set_num_threads(before)
  end)

  it("gradients of a linear layer through it (x^T @ g and g @ w^T as autograd makes them)", function()
    local x = tg.randn(64, 300, {requires_grad = true})
    local w = tg.randn(300, 100, {requires_grad = true})
    local g = tg.randn(64, 100)
    local y = tg.matmul(x, w)
    y:backward(g)
    check(g, w:detach():t(), "dx")
    check(x:detach():t(), g, "dw")
    assert.are.equal(0, (x.grad - tg.matmul(g, w:detach():t())):abs():max():item())
    assert.are.equal(0, (w.grad - tg.matmul(x:detach():t(), g)):abs():max():item())
  end)
end)
