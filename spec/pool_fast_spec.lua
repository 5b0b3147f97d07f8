-- pool_fast_spec.lua (helper cnn): the 2x2 / stride 2 max-pool kernel (cpu_pool.c,
-- MAX_POOL_2X2), taken for a 2x2 window with stride 2, no padding or dilation and
-- every window inside the input; checked against a plain Lua reference of PyTorch's
-- rules (first maximum wins ties, a later NaN wins), against the general kernel
-- (the same windows through kernel_size 2 with ceil_mode, or 3-D and 1-D forms),
-- and by gradcheck.
local tg = require "tgrad"
local F = tg.F

-- values and 1-based plane indices of a 2x2 / stride 2 pool of a (N, C, H, W) table
local function reference(x)
  local ys, is = {}, {}
  for n = 1, #x do
    ys[n], is[n] = {}, {}
    for ch = 1, #x[n] do
      local p = x[n][ch]
      local H, W = #p, #p[1]
      local yp, ip = {}, {}
      for oh = 1, H // 2 do
        yp[oh], ip[oh] = {}, {}
        for ow = 1, W // 2 do
          local best, bi
          for _, t in ipairs({{0, 0}, {0, 1}, {1, 0}, {1, 1}}) do
            local r, c = 2 * oh - 1 + t[1], 2 * ow - 1 + t[2]
            local v = p[r][c]
            if best == nil or v > best or v ~= v then best, bi = v, (r - 1) * W + c end
          end
          yp[oh][ow], ip[oh][ow] = best, bi
        end
      end
      ys[n][ch], is[n][ch] = yp, ip
    end
  end
  return ys, is
end

local function same_values(a, b, what)
  -- NaN-aware deep comparison of nested number tables
  if type(a) == "table" then
    assert.are.equal(#a, #b, what)
    for k = 1, #a do same_values(a[k], b[k], what) end
  elseif a ~= a then
    assert.is_true(b ~= b, what .. ": expected NaN")
  else
    assert.are.equal(a, b, what)
  end
end

describe("max_pool2d 2x2 stride 2 kernel", function()
  it("matches the reference over odd and even sizes, with ties, -inf and NaN", function()
    for _, dt in ipairs({tg.float32, tg.float64}) do
      for _, hw in ipairs({{2, 2}, {4, 6}, {5, 7}, {7, 5}, {28, 28}, {9, 16}, {3, 33}}) do
        -- few distinct values: many ties inside windows
        local x = tg.randint(-2, 3, {2, 3, hw[1], hw[2]}):to(dt)
        x[{1, 1, 1, 1}] = 0 / 0
        x[{2, 2, hw[1], 1}] = 0 / 0
        x[{2, 3, 1, 2}] = -math.huge
        x[{1, 2}] = -math.huge -- an all -inf plane: every window keeps its first index
        local y, i = F.max_pool2d(x, 2, {return_indices = true})
        local ry, ri = reference(x:tolist())
        local what = tostring(dt) .. " " .. hw[1] .. "x" .. hw[2]
        same_values(ry, y:tolist(), what)
        assert.are.same(ri, i:tolist(), what)
        assert.are.equal(dt, y.dtype)
        same_values(ry, tg.no_grad(F.max_pool2d, x, 2):tolist(), what .. " (no indices)")
      end
    end
  end)

  it("equals the general kernel (ceil_mode windows, stride given, padding 0, 3-D input)", function()
    local x = tg.randn(3, 5, 10, 12)
    local y1, i1 = F.max_pool2d(x, 2, {return_indices = true})
    -- ceil_mode on odd sizes adds a partial last window, which sends the whole call to the
    -- general kernel: its full windows must equal the fast kernel's
    local xo = tg.randn(3, 5, 11, 13)
    local y2, i2 = F.max_pool2d(xo, 2, {ceil_mode = true, return_indices = true})
    local y3, i3 = F.max_pool2d(xo, 2, {return_indices = true})
    assert.is_true(y2[{{}, {}, {1, 5}, {1, 6}}]:eq(y3):all():item())
    assert.is_true(i2[{{}, {}, {1, 5}, {1, 6}}]:eq(i3):all():item())
    local y4, i4 = F.max_pool2d(x, {2, 2}, {stride = {2, 2}, padding = 0, dilation = 1, return_indices = true})
    assert.is_true(y1:eq(y4):all():item() and i1:eq(i4):all():item())
    local y5 = F.max_pool2d(x[1], 2) -- unbatched (C, H, W)
    assert.is_true(y5:eq(y1[1]):all():item())
  end)

  it("takes non-contiguous inputs", function()
    local base = tg.randn(2, 8, 3, 6)
    local x = base:permute(1, 3, 2, 4) -- (2, 3, 8, 6), not contiguous
    local y, i = F.max_pool2d(x, 2, {return_indices = true})
    local ry, ri = reference(x:tolist())
    same_values(ry, y:tolist(), "permuted")
    assert.are.same(ri, i:tolist())
  end)

  it("int64 inputs take the general kernel with the same rules", function()
    local x = tg.randint(-3, 4, {2, 2, 6, 8})
    local y, i = F.max_pool2d(x, 2, {return_indices = true})
    local ry, ri = reference(x:tolist())
    assert.are.same(ry, y:tolist())
    assert.are.same(ri, i:tolist())
  end)

  it("threads split planes without changing results", function()
    local prev = tg.get_num_threads()
    local x = tg.randn(8, 16, 30, 30)
    tg.set_num_threads(1)
    local y1, i1 = F.max_pool2d(x, 2, {return_indices = true})
    tg.set_num_threads(2)
    local y2, i2 = F.max_pool2d(x, 2, {return_indices = true})
    tg.set_num_threads(prev)
    assert.is_true(y1:eq(y2):all():item() and i1:eq(i2):all():item())
  end)

  it("gradcheck and gradgradcheck in float64 (odd sizes)", function()
    local x = tg.randn(2, 3, 5, 7, {dtype = tg.float64, requires_grad = true})
    assert.is_true(tg.autograd.gradcheck(function(t) return F.max_pool2d(t, 2) end, {x}))
    assert.is_true(tg.autograd.gradgradcheck(function(t) return F.max_pool2d(t, 2) end, {x}))
    local y = F.max_pool2d(x, 2)
    assert.are.equal("MaxPool2DWithIndicesBackward0", y.grad_fn.name)
  end)
end)
