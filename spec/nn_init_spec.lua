-- nn_init_spec.lua: tg.nn.init (ported from PyTorch's TestNNInit in
-- test/test_nn.py: bounds, moments, gains, errors) and the default
-- initialisation of the layers.
local tg = require "tgrad"
local fx = require "support.fixtures"
local H = require "support.helpers"
local nn, init = tg.nn, tg.nn.init
local FIX = fx.load("nn_module")

local function stats(t)
  local x = t:double():reshape(-1)
  local n = x:numel()
  local mean = x:mean():item()
  local var = ((x - mean) ^ 2):sum():item() / (n - 1)
  return mean, math.sqrt(var), x:min():item(), x:max():item()
end

describe("tg.nn.init", function()
  before_each(function() tg.manual_seed(1234) end)

  it("calculate_gain matches PyTorch", function()
    for _, g in ipairs(FIX.gains) do
      local param = g.param ~= false and g.param or nil
      H.assert_close(init.calculate_gain(g.nonlinearity, param), g.gain, 1e-15)
    end
    H.errors("Unsupported nonlinearity softmax", init.calculate_gain, "softmax")
    H.errors("negative_slope true not a valid number", init.calculate_gain, "leaky_relu", true)
  end)

  it("uniform_ and normal_: range and moments; they return the tensor and do not track", function()
    local p = nn.Parameter(tg.empty(200, 300))
    assert.are.equal(p, init.uniform_(p, -0.5, 2.5))
    assert.is_true(p.is_leaf)
    assert.is_nil(p.grad_fn)
    local mean, std, lo, hi = stats(p)
    assert.is_true(lo >= -0.5 and hi < 2.5)
    assert.is_true(math.abs(mean - 1.0) < 0.02)
    assert.is_true(math.abs(std - 3 / math.sqrt(12)) < 0.02)
    init.normal_(p, {mean = 3, std = 0.5})
    mean, std = stats(p)
    assert.is_true(math.abs(mean - 3) < 0.01)
    assert.is_true(math.abs(std - 0.5) < 0.01)
    init.uniform_(p)
    local _, _, lo2, hi2 = stats(p)
    assert.is_true(lo2 >= 0 and hi2 < 1)
  end)

  it("fills float64 tensors in their dtype", function()
    local t = tg.empty(10, 10, {dtype = tg.float64})
    init.normal_(t)
    assert.are.equal(tg.float64, t.dtype)
  end)

  it("constant_, zeros_, ones_, eye_", function()
    local t = tg.empty(3, 4)
    H.assert_close(init.constant_(t, 2.5), tg.full({3, 4}, 2.5))
    H.assert_close(init.zeros_(t), tg.zeros(3, 4))
    H.assert_close(init.ones_(t), tg.ones(3, 4))
    H.assert_close(init.eye_(t), {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0})
    H.assert_close(init.eye_(tg.empty(3, 2)), {1, 0, 0, 1, 0, 0})
    H.errors("Only tensors with 2 dimensions are supported", init.eye_, tg.empty(2, 2, 2))
  end)

  it("xavier_uniform_ / xavier_normal_ with gain", function()
    local t = tg.empty(150, 250)
    init.xavier_uniform_(t, 2.0)
    local bound = 2.0 * math.sqrt(6 / 400)
    local _, std, lo, hi = stats(t)
    assert.is_true(lo >= -bound and hi <= bound)
    assert.is_true(hi > 0.95 * bound)
    assert.is_true(math.abs(std - bound / math.sqrt(3)) < 0.01 * bound)
    init.xavier_normal_(t, {gain = 0.5})
    _, std = stats(t)
    assert.is_true(math.abs(std - 0.5 * math.sqrt(2 / 400)) < 0.02 * std)
    H.errors("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions",
      init.xavier_uniform_, tg.empty(5))
  end)

  it("kaiming_uniform_ / kaiming_normal_: fan_in, fan_out, nonlinearity, conv weights", function()
    local t = tg.empty(64, 32, 3, 3)   -- fan_in 288, fan_out 576
    init.kaiming_uniform_(t, {a = 0, mode = "fan_in", nonlinearity = "relu"})
    local bound = math.sqrt(2) * math.sqrt(3 / 288)
    local _, _, lo, hi = stats(t)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.95 * bound)
    init.kaiming_uniform_(t, 0, "fan_out")
    bound = math.sqrt(2 / 1.0001) * math.sqrt(3 / 576)
    _, _, lo, hi = stats(t)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.95 * bound)
    init.kaiming_normal_(t, {mode = "fan_out", nonlinearity = "relu"})
    local mean, std = stats(t)
    assert.is_true(math.abs(mean) < 0.005)
    assert.is_true(math.abs(std - math.sqrt(2 / 576)) < 0.03 * std)
    H.errors("Mode fan_avg not supported, please use one of fan_in, fan_out", init.kaiming_uniform_, t, 0, "fan_avg")
    -- a zero-element tensor is left alone
    assert.are.same({0, 3}, init.kaiming_uniform_(tg.empty(0, 3)).shape)
  end)

  it("trunc_normal_ stays in [a, b] with the truncated normal's moments", function()
    local t = tg.empty(300, 300)
    init.trunc_normal_(t)
    local mean, std, lo, hi = stats(t)
    assert.is_true(lo >= -2 and hi <= 2)
    assert.is_true(math.abs(mean) < 0.01)
    assert.is_true(math.abs(std - 0.87962566) < 0.01)   -- std of N(0,1) truncated to [-2, 2]
    init.trunc_normal_(t, {mean = 1, std = 0.02, a = 0.98, b = 1.1})
    mean, std, lo, hi = stats(t)
    assert.is_true(lo >= 0.98 and hi <= 1.1)
    -- N(1, 0.02) cut at one std below the mean: mean = 1 + 0.02 * phi(-1) / (1 - Phi(-1))
    assert.is_true(math.abs(mean - (1 + 0.02 * 0.24197072 / 0.84134475)) < 0.001)
  end)

  it("orthogonal_: rows or columns orthonormal, gain, more dims flattened", function()
    for _, shape in ipairs({{4, 4}, {3, 7}, {7, 3}, {6, 2, 3}}) do
      local t = tg.empty(shape)
      init.orthogonal_(t, 1.7)
      local rows = shape[1]
      local m = t:reshape(rows, -1):double() / 1.7
      local cols = m.shape[2]
      if rows <= cols then
        H.assert_close(tg.mm(m, m:t()), tg.eye(rows, {dtype = tg.float64}), 1e-5)
      else
        H.assert_close(tg.mm(m:t(), m), tg.eye(cols, {dtype = tg.float64}), 1e-5)
      end
    end
    H.errors("Only tensors with 2 or more dimensions are supported", init.orthogonal_, tg.empty(3))
  end)

  it("sparse_ zeroes the given fraction of each column", function()
    local t = tg.empty(10, 6)
    init.sparse_(t, 0.3)
    for c = 1, 6 do
      assert.are.equal(3, t:select(2, c):eq(0):sum():item())
    end
  end)

  it("is reproducible from the seed", function()
    tg.manual_seed(5)
    local a = nn.Linear(4, 3)
    tg.manual_seed(5)
    local b = nn.Linear(4, 3)
    H.assert_close(a.weight, b.weight, 0)
    H.assert_close(a.bias, b.bias, 0)
  end)
end)

describe("default initialisation of the layers (PyTorch's reset_parameters)", function()
  it("Linear: weight and bias uniform in +-1/sqrt(in_features)", function()
    local m = nn.Linear(100, 400)
    local bound = 1 / math.sqrt(100)
    local _, std, lo, hi = stats(m.weight)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.98 * bound and lo < -0.98 * bound)
    assert.is_true(math.abs(std - bound / math.sqrt(3)) < 0.02 * bound)
    _, _, lo, hi = stats(m.bias)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.9 * bound)
  end)

  it("Conv2d: bound 1/sqrt(in_channels/groups * kh * kw); ConvTranspose2d from its weight's dim 2", function()
    local c = nn.Conv2d(8, 64, {3, 5}, {groups = 2})
    local bound = 1 / math.sqrt(4 * 15)
    local _, _, lo, hi = stats(c.weight)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.95 * bound)
    _, _, lo, hi = stats(c.bias)
    assert.is_true(lo >= -bound and hi <= bound)
    local t = nn.ConvTranspose2d(16, 8, 3)
    bound = 1 / math.sqrt(8 * 9)
    _, _, lo, hi = stats(t.weight)
    assert.is_true(lo >= -bound and hi <= bound and hi > 0.95 * bound)
  end)

  it("Bilinear: weight and bias in +-1/sqrt(in1_features)", function()
    local b = nn.Bilinear(25, 7, 30)
    local _, _, lo, hi = stats(b.weight)
    assert.is_true(lo >= -0.2 and hi <= 0.2 and hi > 0.19)
  end)

  it("norms start at weight 1, bias 0, running_var 1; Embedding is N(0, 1) with a zero padding row", function()
    local bn = nn.BatchNorm2d(5)
    H.assert_close(bn.weight, tg.ones(5))
    H.assert_close(bn.bias, tg.zeros(5))
    H.assert_close(bn.running_mean, tg.zeros(5))
    H.assert_close(bn.running_var, tg.ones(5))
    assert.are.equal(0, bn.num_batches_tracked:item())
    local ln = nn.LayerNorm({2, 3})
    H.assert_close(ln.weight, tg.ones(2, 3))
    local gn = nn.GroupNorm(2, 4)
    H.assert_close(gn.bias, tg.zeros(4))
    local e = nn.Embedding(300, 100, {padding_idx = 3})
    local mean, std = stats(e.weight)
    assert.is_true(math.abs(mean) < 0.02 and math.abs(std - 1) < 0.02)
    H.assert_close(e.weight[3], tg.zeros(100))
  end)

  it("dtype option makes float64 parameters", function()
    local m = nn.Linear(2, 3, {dtype = tg.float64})
    assert.are.equal(tg.float64, m.weight.dtype)
    assert.are.equal(tg.float64, m.bias.dtype)
    assert.are.equal(tg.float64, nn.BatchNorm1d(3, {dtype = tg.float64}).running_mean.dtype)
  end)
end)
