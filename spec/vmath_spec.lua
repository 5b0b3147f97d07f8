-- vmath_spec.lua: the float32 transcendental kernels written for the vector
-- units (src/backend/cpu/cpu_vmath.h; helper kern, issue 11): exp, log, tanh
-- and sigmoid against float64 libm over their whole range, in ulps of the
-- float32 nearest the exact value, with overflow, underflow to subnormals and
-- 0, nan and +-inf, odd sizes (vector body and scalar tail give the same
-- bits) and non-contiguous inputs.
local tg = require "tgrad"

-- max over elements of |y - exact| in units of the last place of the float32
-- nearest exact (subnormal spacing 2^-149 at the bottom)
local function max_ulps(y, exact)
  local a = exact:abs():float():double()
  local e = a:clamp(2 ^ -149):log() / math.log(2)
  local u = ((e:floor() - 23):clamp(-149) * math.log(2)):exp()
  return ((y:double() - exact):abs() / u):max():item()
end

-- every binade from 2^-149 to 2^127, both signs
local function all_floats(n)
  local p = (tg.linspace(-149, 127.99, n, {dtype = tg.float64}) * math.log(2)):exp():float()
  return tg.cat({p, -p})
end

describe("float32 vector math vs float64", function()
  it("exp: within 1 ulp from -104 to 89, subnormal results included", function()
    local x = tg.linspace(-104, 88.7, 2000001)
    assert.is_true(max_ulps(x:exp(), x:double():exp()) <= 1)
    local sub = tg.linspace(-103.9, -87.4, 200001) -- results below 2^-126
    assert.is_true(max_ulps(sub:exp(), sub:double():exp()) <= 1)
    local e = tg.tensor({0 / 0, 1 / 0, -1 / 0, 88.8, 1e30, -1e30, -104, 0, -0.0}):exp():tolist()
    assert.is_true(e[1] ~= e[1])
    assert.same({1 / 0, 0, 1 / 0, 1 / 0, 0, 0, 1, 1}, {table.unpack(e, 2)})
  end)

  it("log: within 1 ulp over every binade, subnormals included; 0, negatives, inf, nan", function()
    local x = all_floats(1000001)
    local pos = x:narrow(1, 1, 1000001)
    assert.is_true(max_ulps(pos:log(), pos:double():log()) <= 1)
    local near1 = tg.linspace(0.5, 2, 2000001)
    assert.is_true(max_ulps(near1:log(), near1:double():log()) <= 1)
    local l = tg.tensor({0 / 0, 1 / 0, -1 / 0, 0, -0.0, -1e-30, 1, 2 ^ -149, 3.4e38}):log():tolist()
    assert.is_true(l[1] ~= l[1] and l[3] ~= l[3] and l[6] ~= l[6])
    assert.equal(1 / 0, l[2])
    assert.equal(-1 / 0, l[4])
    assert.equal(-1 / 0, l[5])
    assert.equal(0, l[7])
    assert.near(-149 * math.log(2), l[8], 1e-4)
    assert.near(math.log(3.4e38), l[9], 1e-4)
  end)

  it("tanh: within 2 ulp everywhere; odd, saturates to +-1, keeps -0 and nan", function()
    local x = tg.linspace(-12, 12, 2000001)
    assert.is_true(max_ulps(x:tanh(), x:double():tanh()) <= 2)
    local small = all_floats(400001)
    assert.is_true(max_ulps(small:tanh(), small:double():tanh()) <= 2)
    local t = tg.tensor({0 / 0, 1 / 0, -1 / 0, 100, -100, 1e-40, 0.625, -0.625}):tanh():tolist()
    assert.is_true(t[1] ~= t[1])
    assert.same({1, -1, 1, -1}, {table.unpack(t, 2, 5)})
    assert.equal(tg.tensor(1e-40):item(), t[6])
    assert.near(math.tanh and math.tanh(0.625) or 0.5545997223493823, t[7], 1e-7)
    assert.equal(-t[7], t[8])
    assert.equal(-1 / 0, 1 / tg.tensor({-0.0}):tanh():item())
  end)

  it("sigmoid (exp-based, cpu_elementwise.c): within 3 ulp from -100 to 30, 0 and 1 at the ends", function()
    local x = tg.linspace(-100, 30, 2000001)
    local exact = (x:double():neg():exp() + 1):reciprocal()
    assert.is_true(max_ulps(x:sigmoid(), exact) <= 3) -- measured: 2.25 near -2.7
    local s = tg.tensor({-1e30, 1e30, 0, 0 / 0}):sigmoid():tolist()
    assert.same({0, 1, 0.5}, {table.unpack(s, 1, 3)})
    assert.is_true(s[4] ~= s[4])
  end)

  it("vector body and scalar tail give the same bits; odd sizes and strided views match", function()
    for _, op in ipairs({"exp", "log", "tanh", "sigmoid"}) do
      for _, n in ipairs({1, 7, 8, 9, 15, 16, 17, 33, 63, 65, 1001}) do
        local v = tg.full({n}, 0.3)[op](tg.full({n}, 0.3)):tolist()
        for i = 2, n do assert.equal(v[1], v[i], op .. " n=" .. n) end
      end
      local x = tg.rand(37, 41) * 4 + 0.01
      local t = x:t()
      assert.is_true(t[op](t):eq(t:contiguous()[op](t:contiguous())):all():item(), op)
      local s = x:view(-1):narrow(1, 2, 1000)
      assert.is_true(s[op](s):eq(s:contiguous()[op](s:contiguous())):all():item(), op)
      -- empty and 0-d
      assert.same({0}, tg.empty(0)[op](tg.empty(0)).shape)
      assert.same({}, tg.tensor(0.5)[op](tg.tensor(0.5)).shape)
    end
  end)

  it("float64 keeps libm (exact to float64 rounding)", function()
    local x = tg.tensor({0.5, 1.5, 2.5}, {dtype = tg.float64})
    assert.equal(math.log(1.5), x:log():tolist()[2])
    assert.equal(math.exp(2.5), x:exp():tolist()[3])
  end)
end)

-- helper stream (issue 11): exp's polynomial is SLEEF's expf_u10 form, evaluated
-- with FMAs in the AVX2 (x86-64-v3) and AVX-512 clones and without them in the
-- baseline one; checked exhaustively at 0.987 ulp (every float in [-104, 88.7]).
describe("float32 exp (helper stream): FMA clone accuracy", function()
  it("within 1 ulp on random floats, on the worst neighbourhoods, and on each tail length", function()
    tg.manual_seed(11)
    local x = tg.rand(1000003) * 192.7 - 104 -- [-104, 88.7)
    assert.is_true(max_ulps(x:exp(), x:double():exp()) <= 1)
    -- around the arguments where the Cephes coefficients went past 1 ulp with FMAs
    -- (-5.877, -5.851) and where this form comes closest (-59.94, -81.43, 70.40)
    for _, c in ipairs({-5.8779, -5.851, -59.944, -81.434, 70.403}) do
      local w = tg.linspace(c - 0.01, c + 0.01, 200001)
      assert.is_true(max_ulps(w:exp(), w:double():exp()) <= 1, tostring(c))
    end
    -- every length 1..40 of a random row: the same values as the long vector's elements
    local long = x:narrow(1, 1, 40):exp()
    for n = 1, 40 do
      local part = x:narrow(1, 1, n):contiguous():exp()
      assert.is_true(part:eq(long:narrow(1, 1, n)):all():item(), "n=" .. n)
    end
  end)

  it("exp keeps nan, +-inf, overflow, underflow and the subnormal boundary; float64 untouched", function()
    local e = tg.tensor({0 / 0, 1 / 0, -1 / 0, 88.72, 88.73, -87.33, -103.97, -103.98, -104.5}):exp():tolist()
    assert.is_true(e[1] ~= e[1])
    assert.equal(1 / 0, e[2])
    assert.equal(0, e[3])
    assert.is_true(e[4] > 3.39e38 and e[4] < 1 / 0) -- near the largest finite float
    assert.equal(1 / 0, e[5])
    assert.is_true(e[6] > 0 and e[6] < 1.2e-38) -- subnormal
    assert.is_true(e[7] > 0) -- 2^-149 territory
    assert.equal(0, e[9])
    local d = tg.tensor({-5.8779, 70.403}, {dtype = tg.float64}):exp():tolist()
    assert.equal(math.exp(-5.8779), d[1])
    assert.equal(math.exp(70.403), d[2])
  end)
end)
