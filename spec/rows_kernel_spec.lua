-- rows_kernel_spec.lua (helper rows, issue 11): the vectorised row kernels.
--  * softmax / log_softmax (src/backend/cpu/cpu_softmax.c), forward and the fused
--    backward, over the last dim (row kernels) and a non-last dim (column blocks),
--    against a float64 reference written here in plain Lua; odd row lengths, rows
--    summing to 1, large / infinite / nan inputs as PyTorch; non-contiguous inputs,
--    empty and 0-d tensors; gradcheck and gradgradcheck in float64;
--  * the pointwise losses on contiguous float32 (src/backend/cpu/cpu_loss_fast.c)
--    against the float64 path (the strided double loop), forward and backward;
--  * layer_norm on shifted data against a float64 reference;
--  * thread counts 1, 2 and 3 giving identical bits for all of them.
local tg = require "tgrad"
local F = tg.F
local H = require "support.helpers"

-- |got - want| <= rtol * |want| + atol, elementwise, nan where want is nan
local function close(got, want, rtol, atol, what)
  local g, w = H.flat(got), H.flat(want)
  assert.are.equal(#w, #g, (what or "") .. ": element count")
  for i = 1, #w do
    if w[i] ~= w[i] then
      if g[i] == g[i] then error(("%s element %d: got %.9g, expected nan"):format(what or "", i, g[i]), 2) end
    elseif w[i] == math.huge or w[i] == -math.huge then
      if g[i] ~= w[i] then error(("%s element %d: got %.9g, expected %g"):format(what or "", i, g[i], w[i]), 2) end
    elseif not (math.abs(g[i] - w[i]) <= rtol * math.abs(w[i]) + atol) then
      error(("%s element %d: got %.12g, expected %.12g"):format(what or "", i, g[i], w[i]), 2)
    end
  end
end

local function same_bits(a, b, what)
  local x, y = H.flat(a), H.flat(b)
  assert.are.equal(#x, #y, what)
  for i = 1, #x do
    if not (x[i] == y[i] or (x[i] ~= x[i] and y[i] ~= y[i])) then
      error(("%s: element %d differs: %.17g vs %.17g"):format(what, i, x[i], y[i]), 2)
    end
  end
end

-- float64 softmax / log_softmax of a flat list seen as (outer, C, inner) along C
local function ref_softmax(xs, outer, C, inner, log)
  local y = {}
  for o = 0, outer - 1 do
    for i = 1, inner do
      local base = o * C * inner + i
      local m = -math.huge
      for j = 0, C - 1 do local v = xs[base + j * inner]; if v > m or v ~= v then m = v end end
      local s = 0
      for j = 0, C - 1 do s = s + math.exp(xs[base + j * inner] - m) end
      for j = 0, C - 1 do
        local v = xs[base + j * inner]
        y[base + j * inner] = log and (v - m) - math.log(s) or math.exp(v - m) / s
      end
    end
  end
  return y
end

-- gx of softmax (gx = y (g - sum g y)) or log_softmax (gx = g - exp(y) sum g), float64
local function ref_softmax_bwd(gs, ys, outer, C, inner, log)
  local gx = {}
  for o = 0, outer - 1 do
    for i = 1, inner do
      local base = o * C * inner + i
      local s = 0
      for j = 0, C - 1 do
        local k = base + j * inner
        s = s + (log and gs[k] or gs[k] * ys[k])
      end
      for j = 0, C - 1 do
        local k = base + j * inner
        gx[k] = log and gs[k] - math.exp(ys[k]) * s or ys[k] * (gs[k] - s)
      end
    end
  end
  return gx
end

local function dims_around(shape, d)
  local outer, inner = 1, 1
  for k = 1, d - 1 do outer = outer * shape[k] end
  for k = d + 1, #shape do inner = inner * shape[k] end
  return outer, shape[d], inner
end

local TOL = {[tg.float32] = 2e-6, [tg.float64] = 1e-13}

describe("rows: softmax / log_softmax kernels", function()
  -- shape, dim: last dims of odd and even lengths, then non-last dims (inner 1..>256)
  local cases = {
    {{3, 1}, 2}, {{3, 7}, 2}, {{2, 8}, 2}, {{4, 9}, 2}, {{3, 33}, 2}, {{2, 1000}, 2}, {{1100}, 1},
    {{2, 7, 3}, 2}, {{3, 9, 5}, 1}, {{2, 33, 2, 3}, 2}, {{2, 5, 300}, 2}, {{1, 1, 257}, 2}, {{3, 8, 1}, 2},
  }
  for _, dt in ipairs({tg.float32, tg.float64}) do
    for _, cs in ipairs(cases) do
      local shape, d = cs[1], cs[2]
      local name = ("%s %s dim %d"):format(tostring(dt), table.concat(shape, "x"), d)
      it("forward and fused backward against float64, " .. name, function()
        local x = (tg.randn(shape, {dtype = dt}) * 3):requires_grad_()
        local g = tg.randn(shape, {dtype = dt})
        local outer, C, inner = dims_around(shape, d)
        local xs, gs = H.flat(x:detach()), H.flat(g)
        for _, log in ipairs({false, true}) do
          local f = log and tg.log_softmax or tg.softmax
          local y = f(x, d)
          close(y, ref_softmax(xs, outer, C, inner, log), TOL[dt], log and TOL[dt] or 1e-37, name)
          local gx = tg.autograd.grad({y}, {x}, {g})[1]
          local want = ref_softmax_bwd(gs, H.flat(y:detach()), outer, C, inner, log)
          -- |gx| is bounded by |g| (times C for log_softmax's sum): an absolute floor
          close(gx, want, 1e-5 * (dt == tg.float32 and 1 or 1e-7), TOL[dt] * C * 4, name .. " backward")
        end
      end)
    end
  end

  it("float32 rows sum to 1 within a few ulp (lengths 1 to 1000, last and non-last dims)", function()
    for _, C in ipairs({1, 7, 8, 9, 33, 100, 1000, 4099}) do
      for _, d in ipairs({2, 1}) do
        local x = d == 2 and tg.randn({5, C}) * 4 or tg.randn({C, 5}) * 4
        local y = tg.softmax(x, d):double():sum(d)
        for _, s in ipairs(H.flat(y)) do
          assert.is_true(math.abs(s - 1) <= 4 * 2 ^ -23, ("C = %d dim %d: row sums to %.12g"):format(C, d, s))
        end
      end
    end
  end)

  it("large, small and infinite inputs as PyTorch; a row of -inf or with a nan gives nan", function()
    local inf, nan = math.huge, 0 / 0
    for _, dt in ipairs({tg.float32, tg.float64}) do
      local rows = {
        {1e4, -1e4, 0, 5}, {-1e4, -1e4 + 1, -1e4, -1e4}, {-inf, 0, 0, -inf}, {-inf, -inf, -inf, -inf},
        {1, nan, 2, 3}, {-1e30, 3e30, 0, -3e30},
      }
      local x = tg.tensor(rows, {dtype = dt})
      local xs = H.flat(x)
      for _, log in ipairs({false, true}) do
        local y = (log and tg.log_softmax or tg.softmax)(x, 2)
        local want = ref_softmax(xs, #rows, 4, 1, log)
        close(y, want, TOL[dt], 1e-37, tostring(dt) .. (log and " log_softmax" or " softmax"))
        -- the same along dim 1 of the transpose (the column-block kernel)
        local yt = (log and tg.log_softmax or tg.softmax)(x:t():contiguous(), 1)
        same_bits(yt:t(), y, "column kernel vs row kernel")
      end
      local y = tg.softmax(x, 2):tolist()
      assert.are.same({1, 0, 0, 0}, {y[1][1], y[1][2], y[1][3], 0})
      assert.are.equal(0, y[3][1])
      assert.are.equal(0.5, y[3][2])
      for j = 1, 4 do assert.is_true(y[4][j] ~= y[4][j] and y[5][j] ~= y[5][j]) end
      local l = tg.log_softmax(x, 2):tolist()
      assert.are.equal(-inf, l[3][1])
      assert.are.equal(-2e4, l[1][2])
    end
  end)

  it("non-contiguous inputs and gradients give the values of their contiguous copies", function()
    for _, dt in ipairs({tg.float32, tg.float64}) do
      local base = tg.randn({9, 33}, {dtype = dt})
      local xt = base:t() -- 33 x 9, strided
      local xn = tg.randn({4, 20, 3}, {dtype = dt}):narrow(2, 3, 13)
      for _, f in ipairs({tg.softmax, tg.log_softmax}) do
        for _, d in ipairs({1, 2}) do
          same_bits(f(xt, d), f(xt:contiguous(), d), "transpose dim " .. d)
        end
        for _, d in ipairs({1, 2, 3}) do
          same_bits(f(xn, d), f(xn:contiguous(), d), "narrow dim " .. d)
        end
        local x = xt:detach():requires_grad_()
        local y = f(x, 2)
        local g = tg.randn({9, 33}, {dtype = dt}):t()
        local ga = tg.autograd.grad({y}, {x}, {g}, {retain_graph = true})[1]
        local gb = tg.autograd.grad({y}, {x}, {g:contiguous()})[1]
        same_bits(ga, gb, "strided gradient")
      end
    end
  end)

  it("empty and 0-d tensors", function()
    for _, dt in ipairs({tg.float32, tg.float64}) do
      for _, shape in ipairs({{0, 5}, {5, 0}, {2, 0, 3}}) do
        for _, d in ipairs({1, 2}) do
          local x = tg.zeros(shape, {dtype = dt, requires_grad = true})
          local y = tg.softmax(x, d)
          assert.are.same(shape, y.shape)
          y:sum():backward()
          assert.are.same(shape, x.grad.shape)
          assert.are.same(shape, tg.log_softmax(x, d).shape)
        end
      end
      local s = tg.tensor(2.5, {dtype = dt, requires_grad = true})
      assert.are.equal(1, tg.softmax(s, 1):item())
      assert.are.equal(0, tg.log_softmax(s, -1):item())
      tg.log_softmax(s, 1):backward()
      assert.are.equal(0, s.grad:item())
    end
  end)

  it("gradcheck and gradgradcheck in float64, last and non-last dims", function()
    local gc, ggc = tg.autograd.gradcheck, tg.autograd.gradgradcheck
    for _, cs in ipairs({{{3, 7}, 2}, {{2, 5, 3}, 2}, {{4, 3, 2}, 1}, {{9}, 1}}) do
      for _, f in ipairs({tg.softmax, tg.log_softmax}) do
        local x = tg.randn(cs[1], {dtype = tg.float64, requires_grad = true})
        local fn = function(t) return f(t, cs[2]) end
        assert.is_true(gc(fn, {x}))
        assert.is_true(ggc(fn, {x}))
      end
    end
  end)
end)

describe("rows: pointwise losses on contiguous float32", function()
  local function inputs(n)
    local xs = H.flat(tg.randn(n) * 4)
    -- extreme logits: the stable softplus and sigmoid branches, and log1p of tiny values
    local ext = {-1e4, 1e4, -100, 100, -30, 30, -17, 17, 0, -0.5, 1e-8, -88}
    for k = 1, math.min(#ext, n) do xs[k] = ext[k] end
    return tg.tensor(xs), tg.rand(n), tg.randn(n)
  end

  -- each: name, loss(x, y, opts, w), target kind ("p" probabilities, "r" reals), input map
  local losses = {
    {"mse_loss", function(x, y, o) return F.mse_loss(x, y, o) end, "r"},
    {"bce_with_logits", function(x, y, o) return F.binary_cross_entropy_with_logits(x, y, o) end, "p"},
    {"bce_with_logits weight pos_weight", function(x, y, o, w)
      o.weight, o.pos_weight = w:abs(), (w * 0.5):exp()
      return F.binary_cross_entropy_with_logits(x, y, o)
    end, "p"},
    {"bce", function(x, y, o) return F.binary_cross_entropy(x, y, o) end, "p", "sigmoid"},
    {"bce weight", function(x, y, o, w)
      o.weight = w:abs()
      return F.binary_cross_entropy(x, y, o)
    end, "p", "sigmoid"},
    {"smooth_l1_loss", function(x, y, o) o.beta = 0.7; return F.smooth_l1_loss(x, y, o) end, "r"},
    {"huber_loss", function(x, y, o) o.delta = 1.3; return F.huber_loss(x, y, o) end, "r"},
  }
  for _, n in ipairs({1, 7, 33, 1000, 70001}) do
    for _, L in ipairs(losses) do
      it(("%s, %d elements, every reduction, forward and backward against float64"):format(L[1], n), function()
        local x, p, r = inputs(n)
        if L[4] then x = x[L[4]](x) end -- bce's probabilities, rounded to float32 once for both sides
        local y = L[3] == "p" and p or r
        local w = tg.randn(n)
        -- float32's own rounding of the formula's terms: (1 + |x|) times the weights' sizes
        local xs, ws = H.flat(x), H.flat(w)
        local ulp, total = {}, 0
        for i = 1, n do
          ulp[i] = 2e-6 * (1 + math.abs(xs[i])) * (1 + math.abs(ws[i])) * (1 + math.exp(0.5 * ws[i]))
          total = total + ulp[i]
        end
        for _, red in ipairs({"none", "mean", "sum"}) do
          local x32 = x:clone():requires_grad_()
          local x64 = x:double():requires_grad_()
          local l32 = L[2](x32, y, {reduction = red}, w)
          local l64 = L[2](x64, y:double(), {reduction = red}, w:double())
          assert.are.equal(tg.float32, l32.dtype)
          local scale = red == "mean" and 1 / n or 1
          local want, got = H.flat(l64:detach()), H.flat(l32)
          for i = 1, #want do
            local tol = 1e-5 * math.abs(want[i]) + (red == "none" and ulp[i] or total * scale)
            if not (math.abs(got[i] - want[i]) <= tol) then
              error(("%s %s element %d: got %.12g, expected %.12g"):format(L[1], red, i, got[i], want[i]))
            end
          end
          local g = red == "none" and tg.randn(n) or tg.tensor(1.7)
          local g32 = tg.autograd.grad({l32}, {x32}, {g})[1]
          local g64 = tg.autograd.grad({l64}, {x64}, {g:double()})[1]
          local gs = H.flat(g)
          want, got = H.flat(g64), H.flat(g32)
          for i = 1, n do
            local gi = red == "none" and math.abs(gs[i]) or 1.7 * scale
            local tol = 1e-5 * math.abs(want[i]) + ulp[i] * gi
            if not (math.abs(got[i] - want[i]) <= tol) then
              error(("%s %s backward element %d: got %.12g, expected %.12g"):format(L[1], red, i, got[i], want[i]))
            end
          end
        end
      end)
    end
  end

  it("binary_cross_entropy_with_logits keeps tiny losses accurate (log1p of exp(-x))", function()
    local x = tg.tensor({17, 30, 50, 80, 87, 0.25})
    local y = tg.ones(6)
    local l32 = F.binary_cross_entropy_with_logits(x, y, {reduction = "none"})
    local l64 = F.binary_cross_entropy_with_logits(x:double(), y:double(), {reduction = "none"})
    close(l32, l64, 4e-6, 0, "tiny losses")
  end)

  it("binary_cross_entropy still refuses inputs outside [0, 1] on the fast path", function()
    local x = tg.rand(100000)
    x[77777] = 1.5
    H.errors("all elements of input should be between 0 and 1", F.binary_cross_entropy, x, tg.rand(100000))
  end)
end)

describe("rows: layer_norm accuracy", function()
  it("float32 layer_norm of shifted rows against float64 (mean 1e4, std 1)", function()
    for _, C in ipairs({1, 7, 33, 768, 1001}) do
      local x = tg.randn({4, C}) + 1e4
      local w, b = tg.randn({C}), tg.randn({C})
      local y = F.layer_norm(x, {C}, w, b)
      local y64 = F.layer_norm(x:double(), {C}, w:double(), b:double())
      -- the mean kept as two floats: no loss to its rounding (ulp 1e-3 at 1e4)
      close(y, y64, 1e-5, 1e-5, "layer_norm C = " .. C)
    end
  end)
end)

describe("rows: thread counts give identical bits", function()
  local function run_all()
    tg.manual_seed(7)
    local out = {}
    local x = tg.randn({300, 1000}):requires_grad_()
    local xc = tg.randn({4, 64, 700}):requires_grad_()
    local g, gc = tg.randn({300, 1000}), tg.randn({4, 64, 700})
    for _, f in ipairs({tg.softmax, tg.log_softmax}) do
      local y = f(x, 2)
      out[#out + 1] = y:detach()
      out[#out + 1] = tg.autograd.grad({y}, {x}, {g})[1]
      local yc = f(xc, 2)
      out[#out + 1] = yc:detach()
      out[#out + 1] = tg.autograd.grad({yc}, {xc}, {gc})[1]
    end
    local a = tg.randn(200001):requires_grad_()
    local b, p = tg.randn(200001), tg.rand(200001)
    for _, l in ipairs({F.mse_loss(a, b, {reduction = "none"}), F.binary_cross_entropy_with_logits(a, p, {reduction = "none"}),
                        F.mse_loss(a, b), F.binary_cross_entropy_with_logits(a, p)}) do
      out[#out + 1] = l:detach()
      out[#out + 1] = tg.autograd.grad({l}, {a}, {tg.ones(l.shape)})[1]
    end
    local t = tg.randint(1, 1001, {300})
    local ce = F.cross_entropy(x, t)
    out[#out + 1] = ce:detach()
    out[#out + 1] = tg.autograd.grad({ce}, {x})[1]
    return out
  end

  it("softmax, log_softmax, losses, cross_entropy on 1, 2 and 3 threads", function()
    local old = tg.get_num_threads and tg.get_num_threads() or 1
    tg.set_num_threads(1)
    local ref = run_all()
    for _, nt in ipairs({2, 3}) do
      tg.set_num_threads(nt)
      local got = run_all()
      for k = 1, #ref do same_bits(got[k], ref[k], ("result %d on %d threads"):format(k, nt)) end
    end
    tg.set_num_threads(old)
  end)
end)
