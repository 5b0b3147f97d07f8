-- nn_layers_spec.lua: tg.nn layers and the Lua-written tg.F functions against
-- PyTorch (spec/fixtures/nn_module.lua from tools/gen_nn_module_fixtures.py):
-- printing, outputs and gradients of inputs and parameters for the fixture's
-- weights, buffers after a training step, and float64 gradchecks.
-- Layers over the conv / pool / norm C kernels are pending until tg.F has them.
local tg = require "tgrad"
local fx = require "support.fixtures"
local H = require "support.helpers"
local nn, F = tg.nn, tg.F
local FIX = fx.load("nn_module")

-- the modules the fixture's "NESTED" and "SMALLCNN" cases build in Python
local BasicBlock = nn.Module:extend("BasicBlock")
function BasicBlock:__init()
  self.conv1 = nn.Conv2d(4, 4, 3, {padding = 1, bias = false})
  self.bn1 = nn.BatchNorm2d(4)
  self.relu = nn.ReLU(true)
  self.downsample = nn.Sequential(nn.Conv2d(4, 4, 1, {bias = false}), nn.BatchNorm2d(4))
end
local Net = nn.Module:extend("Net")
function Net:__init()
  self.stem = nn.Conv2d(3, 4, 3)
  self.layer1 = nn.Sequential(BasicBlock(), BasicBlock())
  self.fc = nn.Linear(4, 10)
end
local SmallCNN = nn.Module:extend("SmallCNN")
function SmallCNN:__init()
  self.conv = nn.Conv2d(1, 4, 3, {padding = 1})
  self.bn = nn.BatchNorm2d(4)
  self.pool = nn.MaxPool2d(2)
  self.fc = nn.Linear(4 * 3 * 3, 3)
end
function SmallCNN:forward(x)
  x = self.pool(F.relu(self.bn(self.conv(x))))
  return self.fc(x:flatten(2))
end

local LSTMWrap = nn.Module:extend("LSTMWrap")
function LSTMWrap:__init() self.lstm = nn.LSTM(3, 4, 2) end
function LSTMWrap:forward(x, h0, c0) return self.lstm(x, {h0, c0}) end

local MHAMasked = nn.Module:extend("MHAMasked")
function MHAMasked:__init() self.mha = nn.MultiheadAttention(8, 2) end
function MHAMasked:forward(q, k, v)
  local causal = tg.triu(tg.ones(3, 3), 1):gt(0)
  local kpm = tg.tensor({{false, false, true}, {false, false, false}})
  return self.mha(q, k, v, {attn_mask = causal, key_padding_mask = kpm, average_attn_weights = false})
end

local function build(expr)
  if expr == "NESTED" then return Net() end
  if expr == "MHAMASKED" then return MHAMasked() end
  if expr == "LSTMWRAP" then return LSTMWrap() end
  if expr == "SMALLCNN" then return SmallCNN() end
  local env = setmetatable({tg = tg, nn = nn, F = F}, {__index = _G})
  return assert(load("return " .. expr, "=" .. expr, "t", env))()
end

-- the tg.F functions a case needs ("conv2d pad") all exist
local function has(needs)
  if not needs then return true end
  for name in needs:gmatch("%S+") do
    if F[name] == nil then return false end
  end
  return true
end

describe("tg.nn printing as PyTorch", function()
  for _, c in ipairs(FIX.prints) do
    it(c.lua, function()
      assert.are.equal(c.want, tostring(build(c.lua)))
    end)
  end
end)

local function run_module_case(c)
  local m = build(c.ctor)
  m:double()
  local sd = {}
  for _, e in ipairs(c.state) do sd[e[1]] = fx.build(e[2]) end
  local res = m:load_state_dict(sd)
  assert.are.same({}, res.missing_keys)
  assert.are.same({}, res.unexpected_keys)
  m:train(c.train)
  local ins = {}
  for i, spec in ipairs(c.inputs) do ins[i] = fx.build(spec, c.input_grad[i]) end
  for _, spec in ipairs(c.targets) do ins[#ins + 1] = fx.build(spec) end
  -- results flattened as the fixture's (LSTM: out, {h_n, c_n})
  local outs = {}
  local function flat(v)
    if type(v) == "table" and not tg.is_tensor(v) then for _, e in ipairs(v) do flat(e) end
    else outs[#outs + 1] = v end
  end
  flat(table.pack(m(table.unpack(ins, 1, #c.inputs + #c.targets))))
  for k, want in ipairs(c.outs) do fx.check_tensor("output " .. k, outs[k], want, c.tol) end
  if outs[1].requires_grad then
    outs[1]:backward(fx.build(c.grad_out))
    local gi = 0
    for i = 1, #c.inputs do
      if c.input_grad[i] then
        gi = gi + 1
        local want = c.grad_inputs[gi]
        if want then fx.check_tensor("grad of input " .. i, ins[i].grad, want, c.tol) end
      end
    end
    local params = {}
    for name, p in m:named_parameters() do params[name] = p end
    for _, e in ipairs(c.grad_params) do
      local p = assert(params[e[1]], "no parameter " .. e[1])
      if e[2] then fx.check_tensor("grad of " .. e[1], p.grad, e[2], c.tol)
      else assert(p.grad == nil, e[1] .. " should get no gradient") end
    end
  end
  local bufs = {}
  for name, b in m:named_buffers() do bufs[name] = b end
  for _, e in ipairs(c.buffers_after) do
    fx.check_tensor("buffer " .. e[1], assert(bufs[e[1]], "no buffer " .. e[1]), e[2], c.tol)
  end
end

describe("tg.nn layers against PyTorch (fixed weights, float64)", function()
  for _, c in ipairs(FIX.modules) do
    local title = ("%s: %s%s"):format(c.name, c.ctor, c.train and " (train)" or " (eval)")
    if has(c.needs) then
      it(title, function() run_module_case(c) end)
    else
      pending(title .. " -- needs tg.F." .. c.needs:gsub(" ", ", tg.F."))
    end
  end
end)

describe("tg.F (Lua-written) against PyTorch", function()
  for _, c in ipairs(FIX.functional) do
    it(c.name, function()
      local ins = {}
      for i, spec in ipairs(c.inputs) do ins[i] = fx.build(spec, spec.dtype ~= "int64") end
      local args = {table.unpack(ins)}
      if c.opts then args[#args + 1] = c.opts end
      local out = F[c.fn](table.unpack(args, 1, #ins + (c.opts and 1 or 0)))
      fx.check_tensor("output", out, c.out, c.tol)
      if out.requires_grad then
        out:backward(fx.build(c.grad_out))
        local gi = 0
        for i, spec in ipairs(c.inputs) do
          if spec.dtype ~= "int64" then
            gi = gi + 1
            if c.grads[gi] then fx.check_tensor("grad of input " .. i, ins[i].grad, c.grads[gi], c.tol) end
          end
        end
      end
    end)
  end

  it("F.linear: AddmmBackward0 for a 2-D input with bias, MmBackward0 without", function()
    local x, w, b = tg.randn(3, 4), tg.randn(2, 4, {requires_grad = true}), tg.randn(2, {requires_grad = true})
    assert.are.equal("AddmmBackward0", F.linear(x, w, b).grad_fn.name)
    assert.are.equal("MmBackward0", F.linear(x, w).grad_fn.name)
    local m = nn.Linear(4, 2)
    assert.are.equal("AddmmBackward0", m(x).grad_fn.name)
  end)
end)

describe("gradcheck (float64) of the Lua-written tg.F functions", function()
  local function d(...) return tg.randn({...}, {dtype = tg.float64, requires_grad = true}) end
  local gc = tg.autograd.gradcheck
  it("linear 2-D, 3-D, 1-D, no bias", function()
    assert.is_true(gc(F.linear, {d(3, 4), d(5, 4), d(5)}))
    assert.is_true(gc(F.linear, {d(2, 3, 4), d(5, 4), d(5)}))
    assert.is_true(gc(F.linear, {d(4), d(5, 4), d(5)}))
    assert.is_true(gc(F.linear, {d(3, 4), d(5, 4)}))
  end)
  it("linear on a non-contiguous input", function()
    -- the views are taken inside the function (gradcheck perturbs its inputs' storage)
    assert.is_true(gc(function(x, w, b)
      local xt = x:t()
      assert(not xt:is_contiguous())
      return F.linear(xt, w:t(), b)
    end, {d(4, 3), d(4, 2), d(2)}))
    assert.is_true(gc(function(x, w) return F.linear(x:transpose(1, 3), w) end, {d(4, 2, 3), d(5, 4)}))
  end)
  it("bilinear (2-D and batched, odd sizes)", function()
    assert.is_true(gc(F.bilinear, {d(3, 2), d(3, 5), d(4, 2, 5), d(4)}))
    assert.is_true(gc(F.bilinear, {d(2, 3, 2), d(2, 3, 1), d(3, 2, 1)}))
  end)
  it("normalize and cosine_similarity", function()
    assert.is_true(gc(function(x) return F.normalize(x) end, {d(3, 5)}))
    assert.is_true(gc(function(x) return F.normalize(x, {p = 1, dim = 1}) end, {d(3, 5)}))
    assert.is_true(gc(function(a, b) return F.cosine_similarity(a, b) end, {d(4, 3), d(4, 3)}))
    assert.is_true(gc(function(a, b) return F.cosine_similarity(a, b, {dim = 1}) end, {d(3, 2), d(3, 1)}))
  end)
  it("activations (inputs away from the kinks)", function()
    local x = tg.tensor({{-2.3, -0.7, 0.4}, {1.1, 2.6, -4.2}, {3.7, -3.1, 6.5}}, {dtype = tg.float64, requires_grad = true})
    for _, name in ipairs({"elu", "selu", "celu", "leaky_relu", "hardtanh", "relu6", "hardswish", "hardsigmoid",
                           "logsigmoid", "mish", "softsign", "tanhshrink"}) do
      assert.is_true(gc(function(t) return F[name](t) end, {x}), name)
    end
    assert.is_true(gc(function(t) return F.elu(t, {alpha = 0.3}) end, {x}))
    assert.is_true(gc(function(t) return F.leaky_relu(t, 0.2) end, {x}))
    assert.is_true(tg.autograd.gradgradcheck(function(t) return F.elu(t) end, {x}))
    assert.is_true(tg.autograd.gradgradcheck(function(t) return F.mish(t) end, {x}))
  end)
  it("layers as functions of their parameters: Linear, Bilinear, Sequential", function()
    local m = nn.Linear(3, 2):double()
    assert.is_true(gc(function(x, w, b) return F.linear(x, w, b) end, {d(4, 3), m.weight, m.bias}))
    local s = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)):double()
    local p = s:parameters()
    assert.is_true(gc(function(x) return s(x) end, {d(2, 3)}))
    assert.is_true(gc(function(w) return s(tg.ones(2, 3, {dtype = tg.float64})) * w:sum() end, {p[1]}))
  end)
end)

describe("F edge cases", function()
  it("dropout: p = 0 and eval return the input itself, p = 1 zeros with a gradient", function()
    local x = tg.randn(3, 4, {requires_grad = true})
    assert.are.equal(x, F.dropout(x, {p = 0}))
    assert.are.equal(x, F.dropout(x, {p = 0.5, training = false}))
    local z = F.dropout(x, {p = 1})
    assert.are.equal("MulBackward0", z.grad_fn.name)
    H.assert_close(z, tg.zeros(3, 4))
    z:sum():backward()
    H.assert_close(x.grad, tg.zeros(3, 4))
  end)
  it("dropout keeps about 1-p of the values, scaled by 1/(1-p), from the seeded generator", function()
    tg.manual_seed(7)
    local x = tg.ones(200, 100)
    local y = F.dropout(x, 0.3)
    local kept = y:ne(0):sum():item()
    assert.is_true(math.abs(kept / 20000 - 0.7) < 0.02)
    H.assert_close(y:max(), 1 / 0.7, 1e-6)
    tg.manual_seed(7)
    H.assert_close(F.dropout(x, 0.3), y, 0)
    local g = tg.randn(200, 100, {requires_grad = true})
    local out = F.dropout(g, 0.3)
    out:sum():backward()
    H.assert_close(g.grad, out:detach():ne(0):double() / 0.7, 1e-6)
  end)
  it("dropout errors and in place", function()
    H.errors("dropout probability has to be between 0 and 1, but got 1.5", F.dropout, tg.ones(2), 1.5)
    H.errors("dropout probability has to be between 0 and 1, but got -0.1", nn.Dropout, -0.1)
    local x = tg.ones(50, 50)
    local y = F.dropout(x, {p = 0.5, inplace = true})
    assert.are.equal(x, y)
    assert.is_true(x:eq(0):any():item())
  end)
  it("dropout2d zeros whole channels", function()
    tg.manual_seed(3)
    local y = F.dropout2d(tg.ones(8, 16, 3, 3), 0.5)
    for n = 1, 8 do
      for c = 1, 16 do
        local ch = y[n][c]
        local s = ch:sum():item()
        assert.is_true(s == 0 or math.abs(s - 18) < 1e-5)
      end
    end
    H.errors("Feature dropout requires at least 2 dimensions in the input", F.dropout2d, tg.ones(2))
    -- a 3-D input is (N, C, L): one draw per (n, c)
    local z = F.dropout2d(tg.ones(4, 6, 5), 0.5)
    for n = 1, 4 do
      for c = 1, 6 do
        local s = z[n][c]:sum():item()
        assert.is_true(s == 0 or math.abs(s - 10) < 1e-5)
      end
    end
  end)
  it("Dropout module is off in eval()", function()
    local d = nn.Dropout(0.9)
    local x = tg.randn(10, 10)
    d:eval()
    assert.are.equal(x, d(x))
    d:train()
    assert.is_true(d(x):eq(0):any():item())
  end)
  it("one_hot infers num_classes and checks ids", function()
    local t = tg.tensor({3, 1, 2})
    assert.are.same({{0, 0, 1}, {1, 0, 0}, {0, 1, 0}}, F.one_hot(t):tolist())
    assert.are.equal(tg.int64, F.one_hot(t).dtype)
    assert.are.same({3, 4}, F.one_hot(t, 4).shape)
    H.errors("Class values must be smaller than num_classes.", F.one_hot, t, 2)
    H.errors("Class values must be positive", F.one_hot, tg.tensor({0, 1}))
    H.errors("Can not infer total number of classes from empty tensor.", F.one_hot, tg.zeros(0, {dtype = tg.int64}))
    assert.are.same({0, 3}, F.one_hot(tg.zeros(0, {dtype = tg.int64}), 3).shape)
    H.errors("one_hot is only applicable to index tensor", F.one_hot, tg.ones(2))
  end)
  it("linear and bilinear errors in PyTorch's words", function()
    H.errors("mat1 and mat2 shapes cannot be multiplied (3x4 and 5x2)", F.linear, tg.ones(3, 4), tg.ones(2, 5))
    H.errors("bilinear(): input1 size does not match weight size: got 3 but expected 2",
      F.bilinear, tg.ones(4, 3), tg.ones(4, 5), tg.ones(6, 2, 5))
    H.errors("bilinear(): input batch dimensions do not match", F.bilinear, tg.ones(4, 2), tg.ones(3, 5), tg.ones(6, 2, 5))
    H.errors("linear(): argument 'weight' must be Tensor, not nil", F.linear, tg.ones(2, 2))
  end)
  it("linear on an empty batch", function()
    local m = nn.Linear(3, 2)
    local y = m(tg.zeros(0, 3))
    assert.are.same({0, 2}, y.shape)
  end)
  it("activation options by position or table, unknown option rejected", function()
    local x = tg.tensor({-2.0, -0.5, 0.5, 2.0})
    H.assert_close(F.leaky_relu(x, 0.1), {-0.2, -0.05, 0.5, 2.0}, 1e-6)
    H.assert_close(F.leaky_relu(x, {negative_slope = 0.1}), {-0.2, -0.05, 0.5, 2.0}, 1e-6)
    H.assert_close(F.hardtanh(x, {min_val = -1.0, max_val = 1.0}), {-1, -0.5, 0.5, 1}, 1e-6)
    H.errors("leaky_relu() got an unexpected keyword argument 'slope'", F.leaky_relu, x, {slope = 0.1})
    local y = x:clone()
    assert.are.equal(y, F.elu(y, {inplace = true}))
    H.assert_close(y, F.elu(x), 1e-6)
    local r = x:clone()
    nn.ReLU(true)(r)
    H.assert_close(r, {0, 0, 0.5, 2.0}, 1e-6)
  end)
end)

describe("ConvTranspose output_size", function()
  local run = F.conv_transpose2d and it or pending
  run("forward(x, output_size) picks the output_padding, and checks the range", function()
    local m = nn.ConvTranspose2d(3, 2, 3, {stride = 2, padding = 1})
    local x = tg.randn(1, 3, 4, 4)
    assert.are.same({1, 2, 7, 7}, m(x).shape)
    local y = m(x, {8, 7})
    assert.are.same({1, 2, 8, 7}, y.shape)
    local want = F.conv_transpose2d(x, m.weight, m.bias, {stride = 2, padding = 1, output_padding = {1, 0}})
    H.assert_close(y, want, 1e-6)
    assert.are.same({1, 2, 8, 8}, m(x, {1, 2, 8, 8}).shape)
    H.errors("requested an output size of (9, 7), but valid sizes range from 7 to 8 (for an input of 4)",
      function() m(x, {9, 7}) end)
  end)
end)

describe("empty inputs", function()
  it("the Lua-written tg.F functions and Linear keep empty shapes (no crash)", function()
    assert.are.same({0}, tg.zeros(0, 3):sum(2).shape)   -- once a division by zero in the CPU iterator
    assert.are.same({0, 3}, F.normalize(tg.zeros(0, 3)).shape)
    assert.are.same({0}, F.cosine_similarity(tg.zeros(0, 3), tg.zeros(0, 3)).shape)
    assert.are.same({0, 4}, F.bilinear(tg.zeros(0, 2), tg.zeros(0, 3), tg.ones(4, 2, 3), tg.ones(4)).shape)
    assert.are.same({0, 3}, F.dropout(tg.zeros(0, 3), 0.5).shape)
    assert.are.same({0, 3}, F.elu(tg.zeros(0, 3)).shape)
    assert.are.same({2, 0, 2}, nn.Linear(3, 2)(tg.zeros(2, 0, 3)).shape)
    local x = tg.zeros(0, 3, {requires_grad = true})
    local m = nn.Linear(3, 2)
    m(x):sum():backward()
    H.assert_close(m.weight.grad, tg.zeros(2, 3))
    assert.are.same({0, 3}, x.grad.shape)
  end)
end)

describe("recurrent layers", function()
  local gc = tg.autograd.gradcheck
  it("gradcheck (float64): LSTM and GRU outputs and final states, RNN relu with h0", function()
    local lstm = nn.LSTM(2, 3, {bidirectional = true}):double()
    local x = tg.randn(3, 2, 2, {dtype = tg.float64, requires_grad = true})
    assert.is_true(gc(function(t) local out, hc = lstm(t) return out, hc[1], hc[2] end, {x}))
    local gru = nn.GRU(2, 3, 2):double()
    local h0 = tg.randn(2, 2, 3, {dtype = tg.float64, requires_grad = true})
    assert.is_true(gc(function(t, h) return gru(t, h) end, {x, h0}))
    local rnn = nn.RNN(2, 3, {nonlinearity = "relu"}):double()
    assert.is_true(gc(function(t) local out = rnn(t) return out end, {x}))
    local p = lstm.weight_hh_l0_reverse
    assert.is_true(gc(function(w)
      local saved = lstm.weight_hh_l0_reverse
      lstm._parameters.map.weight_hh_l0_reverse = w
      local out = lstm(x:detach())
      lstm._parameters.map.weight_hh_l0_reverse = saved
      return out
    end, {p}))
  end)

  it("shapes, state feeding and dropout between layers", function()
    local lstm = nn.LSTM(3, 4, 2, {batch_first = true})
    local x = tg.randn(2, 5, 3)
    local out, hc = lstm(x)
    assert.are.same({2, 5, 4}, out.shape)
    local out2 = lstm(x, hc)   -- the state goes back in as it came out
    assert.are.same({2, 5, 4}, out2.shape)
    -- the last time step of the top layer is h_n's last entry
    H.assert_close(out:select(2, 5), hc[1][2], 1e-6)
    local g = nn.GRU(3, 4, 3, {dropout = 0.5})
    g:eval()
    local a = g(tg.ones(2, 1, 3))
    H.assert_close(g(tg.ones(2, 1, 3)), a, 0)
    local o, h = nn.RNN(3, 2)(tg.zeros(0, 4, 3))
    assert.are.same({0, 4, 2}, o.shape)
    assert.are.same({1, 4, 2}, h.shape)
  end)

  it("errors in PyTorch's words", function()
    local g = nn.GRU(3, 4)
    H.errors("Expected hidden size (1, 2, 4), got [1, 3, 4]", function() g(tg.randn(5, 2, 3), tg.zeros(1, 3, 4)) end)
    H.errors("input.size(-1) must be equal to input_size. Expected 3, got 2", function() g(tg.randn(5, 2, 2)) end)
    H.errors("GRU: Expected input to be 2D or 3D, got 4D tensor instead", function() g(tg.randn(1, 5, 2, 3)) end)
    H.errors("For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
      function() g(tg.randn(5, 3), tg.zeros(1, 1, 4)) end)
    H.errors("Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.", nn.RNN, 2, 3, {nonlinearity = "gelu"})
    H.errors("dropout should be a number in range [0, 1]", nn.LSTM, 2, 3, {dropout = 2})
    H.errors("input has inconsistent input_size: got 2 expected 3", function() nn.LSTMCell(3, 4)(tg.randn(1, 2)) end)
  end)

  it("initialisation: uniform in +-1/sqrt(hidden_size)", function()
    local l = nn.LSTM(10, 100)
    for _, p in ipairs(l:parameters()) do
      assert.is_true(p:abs():max():item() <= 0.1)
    end
    assert.is_true(l.weight_hh_l0:abs():max():item() > 0.099)
  end)
end)

describe("MultiheadAttention", function()
  it("gradcheck (float64) with a float mask, and need_weights = false", function()
    local m = nn.MultiheadAttention(4, 2):double()
    local q = tg.randn(3, 2, 4, {dtype = tg.float64, requires_grad = true})
    local kv = tg.randn(5, 2, 4, {dtype = tg.float64, requires_grad = true})
    local mask = tg.randn(3, 5, {dtype = tg.float64})
    assert.is_true(tg.autograd.gradcheck(function(a, b)
      return m(a, b, b, {attn_mask = mask})
    end, {q, kv}))
    local out, w = m(q, kv, kv, {need_weights = false})
    assert.is_nil(w)
    assert.are.same({3, 2, 4}, out.shape)
  end)

  it("parameter names, initialisation, errors", function()
    local m = nn.MultiheadAttention(8, 2)
    local names = {}
    for n in m:named_parameters() do names[#names + 1] = n end
    assert.are.same({"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}, names)
    H.assert_close(m.in_proj_bias, tg.zeros(24))
    local bound = math.sqrt(6 / (24 + 8))
    assert.is_true(m.in_proj_weight:abs():max():item() <= bound)
    H.errors("embed_dim must be divisible by num_heads", nn.MultiheadAttention, 6, 4)
    H.errors("The shape of the 2D attn_mask is [2, 3], but should be [3, 3].",
      function() m(tg.randn(3, 1, 8), tg.randn(3, 1, 8), tg.randn(3, 1, 8), {attn_mask = tg.zeros(2, 3)}) end)
    H.errors("was expecting embedding dimension of 8, but got 4",
      function() m(tg.randn(3, 1, 4), tg.randn(3, 1, 4), tg.randn(3, 1, 4)) end)
    H.errors("Need attn_mask if specifying the is_causal hint",
      function() m(tg.randn(3, 1, 8), tg.randn(3, 1, 8), tg.randn(3, 1, 8), {is_causal = true}) end)
  end)
end)
