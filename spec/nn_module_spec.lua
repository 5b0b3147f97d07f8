-- nn_module_spec.lua: tg.nn.Module's mechanics, ported from PyTorch's
-- test/test_nn.py (registration, named_*, state_dict, containers, train/eval,
-- zero_grad, to) and test/nn/test_module_hooks.py (forward hooks).
local tg = require "tgrad"
local H = require "support.helpers"
local nn = tg.nn

local function names(iter)
  local out = {}
  for name in iter do out[#out + 1] = name end
  return out
end

local function shape_of(t) return t.shape end

describe("Module subclassing", function()
  it("extend, __init, forward, call, isinstance, super", function()
    local Net = nn.Module:extend("Net")
    function Net:__init(n)
      self.fc = nn.Linear(n, 2)
      self.scale = 3
    end
    function Net:forward(x) return self.fc(x) * self.scale end
    local net = Net(4)
    assert.are.same({5, 2}, net(tg.randn(5, 4)).shape)
    assert.is_true(net:isinstance(Net))
    assert.is_true(net:isinstance(nn.Module))
    assert.is_false(net:isinstance(nn.Linear))
    assert.are.equal(3, net.scale)
    assert.are.equal(nn.Module, Net.super)
    -- a subclass of a layer calls its parent's __init through super
    local Scaled = nn.Linear:extend("Scaled")
    function Scaled:__init(i, o) Scaled.super.__init(self, i, o) self.k = 2 end
    function Scaled:forward(x) return Scaled.super.forward(self, x) * self.k end
    local s = Scaled(3, 2)
    assert.is_true(s:isinstance(nn.Linear))
    assert.are.equal("Scaled(in_features=3, out_features=2, bias=True)", tostring(s))
    local x = tg.randn(4, 3)
    H.assert_close(s(x), nn.Linear.forward(s, x) * 2, 1e-6)
  end)

  it("a subclass without __init inherits its parent's", function()
    local MyLinear = nn.Linear:extend("MyLinear")
    local m = MyLinear(2, 5)
    assert.are.same({5, 2}, m.weight.shape)
  end)

  it("a module without forward says so", function()
    local M = nn.Module:extend("Empty")
    H.errors('Module [Empty] is missing the required "forward" function', function() M()(tg.ones(1)) end)
  end)
end)

describe("registration and traversal", function()
  local function make_net()
    local Net = nn.Module:extend("Net")
    function Net:__init()
      self.l1 = nn.Linear(10, 20)
      self.param = nn.Parameter(tg.randn(3))
      self.block = nn.Sequential(nn.Linear(20, 20), nn.ReLU(), nn.Sequential(nn.Linear(20, 5)))
      self:register_buffer("buf", tg.zeros(2))
      self:register_buffer("tmp", tg.ones(1), false)
    end
    return Net()
  end

  it("named_parameters in registration order, dotted as PyTorch", function()
    local net = make_net()
    -- a module's own parameters come before its children's, as PyTorch
    assert.are.same({"param", "l1.weight", "l1.bias", "block.0.weight", "block.0.bias", "block.2.0.weight",
                     "block.2.0.bias"}, names(net:named_parameters()))
    assert.are.equal(7, #net:parameters())
    assert.are.equal(1, #net:parameters({recurse = false}))
    assert.are.same({"param"}, names(net:named_parameters({recurse = false})))
    assert.are.same({"x.param"}, names(net:named_parameters({recurse = false, prefix = "x"})))
  end)

  it("buffers, children, modules, named_modules", function()
    local net = make_net()
    assert.are.same({"buf", "tmp"}, names(net:named_buffers()))
    assert.are.equal(2, #net:buffers())
    assert.are.same({"l1", "block"}, names(net:named_children()))
    assert.are.equal(2, #net:children())
    assert.are.same({"", "l1", "block", "block.0", "block.1", "block.2", "block.2.0"}, names(net:named_modules()))
    assert.are.equal(7, #net:modules())
    assert.are.equal(net, net:modules()[1])
  end)

  it("shared parameters and modules are listed once (remove_duplicate)", function()
    local l = nn.Linear(2, 2)
    local s = nn.Sequential(l, l)
    assert.are.same({"0.weight", "0.bias"}, names(s:named_parameters()))
    assert.are.same({"", "0"}, names(s:named_modules()))
    assert.are.same({"", "0", "1"}, names(s:named_modules({remove_duplicate = false})))
    assert.are.same({"0.weight", "0.bias", "1.weight", "1.bias"},
      names(s:named_parameters({remove_duplicate = false})))
    local M = nn.Module:extend("Tied")
    function M:__init()
      self.a = nn.Linear(3, 3)
      self.b = nn.Linear(3, 3)
      self.b.weight = self.a.weight
    end
    assert.are.same({"a.weight", "a.bias", "b.bias"}, names(M():named_parameters()))
    local sd = M():state_dict()
    local keys = {}
    for k in pairs(sd) do keys[#keys + 1] = k end
    assert.are.same({"a.weight", "a.bias", "b.weight", "b.bias"}, keys)
  end)

  it("assignment registers and re-registers (test_assignment)", function()
    local m = nn.Module()
    local p = nn.Parameter(tg.ones(1))
    m.a = p
    assert.are.equal(p, m.a)
    assert.are.same({"a"}, names(m:named_parameters()))
    -- a plain tensor cannot replace a parameter, nil can
    H.errors("cannot assign 'torch.FloatTensor' as parameter 'a' (torch.nn.Parameter or None expected)",
      function() m.a = tg.ones(1) end)
    m.a = nil
    assert.is_nil(m.a)
    assert.are.same({}, names(m:named_parameters()))
    m.a = p   -- keeps its slot
    assert.are.equal(p, m.a)
    -- a module cannot take a parameter's name (PyTorch raises too)
    local l = nn.Linear(1, 1)
    H.errors("cannot assign 'Linear' as parameter 'a'", function() m.a = l end)
    m.c = l
    assert.are.equal(l, m.c)
    assert.are.same({"a", "c.weight", "c.bias"}, names(m:named_parameters()))
    H.errors("cannot assign 'int' as child module 'c' (torch.nn.Module or None expected)", function() m.c = 3 end)
    -- a Parameter takes a module's place
    m.c = nn.Parameter(tg.ones(2))
    assert.are.same({"a", "c"}, names(m:named_parameters()))
    assert.are.same({}, names(m:named_children()))
    m.c = nil
    assert.are.same({}, names(m:named_children()))
    -- plain values are plain fields; a Parameter or Module later takes their place
    m.x = 5
    assert.are.equal(5, m.x)
    m.x = nn.ReLU()
    assert.are.same({"x"}, names(m:named_children()))
    m.y = false
    m.y = nn.Parameter(tg.ones(1))
    assert.is_true(nn.is_parameter(m.y))
    m.y = nil
    m.x = nil
    m.t = tg.ones(2)   -- a plain tensor is neither parameter nor buffer
    assert.are.equal(1, #m:parameters())
    assert.are.equal(p, m:parameters()[1])
    assert.are.same({}, m:buffers())
  end)

  it("buffers: assignment, non-persistent, errors (test_register_buffer_*)", function()
    local m = nn.Module()
    m:register_buffer("b", tg.zeros(2))
    local nb = tg.ones(2)
    m.b = nb
    assert.are.equal(nb, m.b)
    H.errors("cannot assign 'int' as buffer 'b' (torch.Tensor or None expected)", function() m.b = 1 end)
    m.b = nil
    assert.are.same({}, m:buffers())
    m:register_buffer("b", tg.ones(3))   -- re-registering the same name is allowed
    H.errors("buffer name should be a string. Got number", function() m:register_buffer(1, tg.ones(1)) end)
    H.errors('buffer name can\'t contain ".", got: a.b', function() m:register_buffer("a.b", tg.ones(1)) end)
    H.errors('buffer name can\'t be empty string ""', function() m:register_buffer("", tg.ones(1)) end)
    m.attr = 1
    H.errors("attribute 'attr' already exists", function() m:register_buffer("attr", tg.ones(1)) end)
    m:register_parameter("p", nn.Parameter(tg.ones(1)))
    H.errors("attribute 'p' already exists", function() m:register_buffer("p", tg.ones(1)) end)
    H.errors("cannot assign 'table' object to buffer 'c'", function() m:register_buffer("c", {}) end)
  end)

  it("register_parameter / add_module errors", function()
    local m = nn.Module()
    H.errors("cannot assign 'torch.FloatTensor' object to parameter 'w' (torch.nn.Parameter or None required)",
      function() m:register_parameter("w", tg.ones(1)) end)
    H.errors('parameter name can\'t contain ".", got: a.b',
      function() m:register_parameter("a.b", nn.Parameter(tg.ones(1))) end)
    H.errors("int is not a Module subclass", function() m:add_module("x", 3) end)
    H.errors('module name can\'t contain ".", got: a.b', function() m:add_module("a.b", nn.ReLU()) end)
    m:register_module("r", nn.ReLU())
    assert.are.same({"r"}, names(m:named_children()))
    m:register_parameter("none", nil)
    assert.is_nil(m.none)
    assert.are.same({}, m:parameters())
  end)

  it("get_submodule and get_parameter", function()
    local s = nn.Sequential(nn.Sequential(nn.Linear(2, 3)))
    assert.are.equal(s[1][1], s:get_submodule("0.0"))
    assert.are.equal(s[1][1].bias, s:get_parameter("0.0.bias"))
    H.errors("Sequential has no attribute `3`", function() s:get_submodule("0.3") end)
    local b = nn.Sequential(nn.BatchNorm1d(2))
    assert.are.equal(b[1].running_var, b:get_buffer("0.running_var"))
    H.errors("BatchNorm1d has no buffer `nope`", function() b:get_buffer("0.nope") end)
    assert.are.equal("Module()", tostring(nn.Module()))
  end)
end)

describe("Parameter", function()
  it("is a leaf that requires grad and shares the data's storage", function()
    local t = tg.zeros(2)
    local p = nn.Parameter(t)
    assert.is_true(p.requires_grad)
    assert.is_true(p.is_leaf)
    assert.is_true(nn.is_parameter(p))
    assert.is_false(nn.is_parameter(t))
    t:fill_(3)
    H.assert_close(p, {3, 3})
    assert.is_false(nn.Parameter(tg.ones(1), false).requires_grad)
    assert.are.same({0}, nn.Parameter().shape)
    assert.are.equal("Parameter containing:\ntensor([3., 3.], requires_grad=true)", tostring(p))
  end)
end)

describe("train / eval / requires_grad_ / zero_grad / apply", function()
  it("train and eval reach every submodule; train checks its argument", function()
    local s = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    assert.is_true(s.training)
    assert.are.equal(s, s:eval())
    for _, m in ipairs(s:modules()) do assert.is_false(m.training) end
    s:train()
    for _, m in ipairs(s:modules()) do assert.is_true(m.training) end
    s:train(false)
    assert.is_false(s[2][1].training)
    H.errors("training mode is expected to be boolean", function() s:train("yes") end)
  end)

  it("requires_grad_ toggles every parameter", function()
    local s = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    s:requires_grad_(false)
    for _, p in ipairs(s:parameters()) do assert.is_false(p.requires_grad) end
    s:requires_grad_()
    for _, p in ipairs(s:parameters()) do assert.is_true(p.requires_grad) end
  end)

  it("zero_grad sets grads to nil by default, or zeros them", function()
    local m = nn.Linear(3, 2)
    m(tg.randn(4, 3)):sum():backward()
    assert.is_not_nil(m.weight.grad)
    m:zero_grad({set_to_none = false})
    H.assert_close(m.weight.grad, tg.zeros(2, 3))
    m:zero_grad()
    assert.is_nil(m.weight.grad)
    assert.is_nil(m.bias.grad)
  end)

  it("apply visits children first, then the module", function()
    local s = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    local seen = {}
    s:apply(function(m) seen[#seen + 1] = m:_get_name() end)
    assert.are.same({"Linear", "ReLU", "Sequential", "Sequential"}, seen)
    s:apply(function(m) if m:isinstance(nn.Linear) then nn.init.zeros_(m.weight) end end)
    H.assert_close(s[1].weight, tg.zeros(2, 2))
  end)
end)

describe("to / double / float", function()
  it("casts floating parameters and buffers, keeps int64 buffers, keeps Parameter identity", function()
    local s = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    local w = s[1].weight
    s[1](tg.randn(1, 2)):sum():backward()
    s:double()
    assert.are.equal(w, s[1].weight)
    assert.are.equal(tg.float64, w.dtype)
    assert.are.equal(tg.float64, w.grad.dtype)
    assert.are.equal(tg.float64, s[2].running_mean.dtype)
    assert.are.equal(tg.int64, s[2].num_batches_tracked.dtype)
    assert.is_true(w.requires_grad)
    s:to(tg.float32)
    assert.are.equal(tg.float32, w.dtype)
    s:to("cpu")
    H.errors("nn.Module.to only accepts floating point dtypes", function() s:to(tg.int64) end)
  end)
end)

describe("state_dict / load_state_dict", function()
  local function net()
    local s = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    s[2]:register_buffer("scratch", tg.zeros(1), false)
    return s
  end

  it("holds parameters and persistent buffers in registration order", function()
    local sd = net():state_dict()
    local want = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                  "1.num_batches_tracked", "2.weight", "2.bias"}
    assert.are.equal(1, select("#", net():state_dict()))   -- one result: tg.save(path, m:state_dict())
    local order = {}
    for k in pairs(sd) do order[#order + 1] = k end
    assert.are.same(want, order)
    assert.is_nil(sd["1.scratch"])
    -- keys added later follow (sorted), removed ones are skipped
    sd["zz"], sd["extra"], sd["0.bias"] = tg.ones(1), tg.ones(1), nil
    order = {}
    for k in pairs(sd) do order[#order + 1] = k end
    assert.are.same({"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                     "1.num_batches_tracked", "2.weight", "2.bias", "extra", "zz"}, order)
    assert.is_false(sd["0.weight"].requires_grad)
    local kv = net():state_dict({keep_vars = true})
    assert.is_true(kv["0.weight"].requires_grad)
    local psd = net():state_dict({prefix = "model."})
    local first = pairs(psd)(psd)
    assert.are.equal("model.0.weight", first)
  end)

  it("state_dict tensors share storage with the parameters", function()
    local m = nn.Linear(2, 2)
    local sd = m:state_dict()
    sd.weight:fill_(7)
    H.assert_close(m.weight, tg.full({2, 2}, 7))
  end)

  it("round-trips into a fresh model", function()
    local a, b = net(), net()
    a[2].running_mean:fill_(0.5)
    local res = b:load_state_dict(a:state_dict())
    assert.are.same({}, res.missing_keys)
    assert.are.same({}, res.unexpected_keys)
    for name, p in a:named_parameters() do H.assert_close(b:get_parameter(name), p, 0) end
    H.assert_close(b[2].running_mean, a[2].running_mean, 0)
    local x = tg.randn(5, 3)
    H.assert_close(b[1](x), a[1](x), 0)
    -- loading does not track and keeps requires_grad
    assert.is_true(b[1].weight.is_leaf)
    assert.is_true(b[1].weight.requires_grad)
  end)

  it("strict errors in PyTorch's words (missing, unexpected, size mismatch)", function()
    local m = net()
    local sd = m:state_dict()
    local copy = {}
    for k, v in pairs(sd) do copy[k] = v end
    copy["2.bias"] = nil
    copy["0.weight"] = nil
    copy["extra"] = tg.ones(1)
    copy["1.foo.bar"] = tg.ones(1)
    local ok, err = pcall(m.load_state_dict, m, copy)
    assert.is_false(ok)
    assert.is_truthy(err:find('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "0.weight", "2.bias". \n\tUnexpected key(s) in state_dict: "extra", "1.foo.bar". ', 1, true), err)
    -- not strict: the keys come back
    local res = m:load_state_dict(copy, {strict = false})
    assert.are.same({"0.weight", "2.bias"}, res.missing_keys)
    assert.are.same({"extra", "1.foo.bar"}, res.unexpected_keys)
    -- a size mismatch is an error even when not strict
    local bad = {}
    for k, v in pairs(sd) do bad[k] = v end
    bad["0.weight"] = tg.zeros(5, 3)
    H.errors("size mismatch for 0.weight: copying a param with shape [5, 3] from checkpoint, the shape in current model is [4, 3].",
      m.load_state_dict, m, bad, {strict = false})
    H.errors("Expected state_dict to be dict-like, got number.", m.load_state_dict, m, 3)
  end)

  it("BatchNorm's num_batches_tracked may be absent (as PyTorch fills it in for unversioned dicts)", function()
    local bn = nn.BatchNorm1d(3)
    local sd = {}
    for k, v in pairs(bn:state_dict()) do if k ~= "num_batches_tracked" then sd[k] = v:clone() end end
    sd.running_mean:fill_(2)
    local res = bn:load_state_dict(sd)
    assert.are.same({}, res.missing_keys)
    H.assert_close(bn.running_mean, {2, 2, 2})
  end)

  it("a checkpoint in float64 loads into float32 parameters (copy_ casts)", function()
    local a = nn.Linear(2, 2):double()
    local b = nn.Linear(2, 2)
    b:load_state_dict(a:state_dict())
    assert.are.equal(tg.float32, b.weight.dtype)
    H.assert_close(b.weight, a.weight, 1e-6)
  end)
end)

describe("containers", function()
  it("Sequential: positional and named, indexing, #, ipairs, append, insert, extend, pop, slices", function()
    local l1, l2, l3 = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)
    local s = nn.Sequential(l1, l2)
    assert.are.equal(2, #s)
    assert.are.equal(l1, s[1])
    assert.are.equal(l2, s[-1])
    assert.is_nil(s[3])
    s:append(l3)
    assert.are.same({"0", "1", "2"}, names(s:named_children()))
    local seen = {}
    for i, m in ipairs(s) do seen[i] = m end
    assert.are.same({l1, l2, l3}, seen)
    local t = nn.Tanh()
    s:insert(2, t)
    assert.are.equal(t, s[2])
    assert.are.equal(l2, s[3])
    assert.are.same({"0", "1", "2", "3"}, names(s:named_children()))
    assert.are.equal(t, s:pop(2))
    assert.are.same({"0", "1", "2"}, names(s:named_children()))
    local r = nn.ReLU()
    s[2] = r
    assert.are.equal(r, s[2])
    H.errors("index 5 is out of range", function() s[5] = nn.ReLU() end)
    local extra = nn.Sigmoid()
    s:append(extra)
    s[2] = nil   -- PyTorch's del s[1]: the rest renumbered
    assert.are.equal(3, #s)
    assert.are.equal(l3, s[2])
    assert.are.equal(extra, s[3])
    assert.are.same({"0", "1", "2"}, names(s:named_children()))
    s:insert(2, r)
    local sub = s[{2, 3}]
    assert.are.equal(2, #sub)
    assert.are.same({"1", "2"}, names(sub:named_children()))
    s:extend({nn.ReLU(), nn.ReLU()})
    assert.are.equal(6, #s)
    local named = nn.Sequential({{"fc", nn.Linear(2, 2)}, {"act", nn.ReLU()}})
    assert.are.same({"fc", "act"}, names(named:named_children()))
    assert.are.equal(named.fc, named[1])
    assert.are.same({"fc.weight", "fc.bias"}, names(named:named_parameters()))
    -- forward chains the children
    local x = tg.randn(3, 1)
    H.assert_close(nn.Sequential(l1, l2, l3)(x), l3(l2(l1(x))), 1e-6)
    H.assert_close(nn.Sequential()(x), x, 0)
  end)

  it("ModuleList: indexable, ipairs-friendly, append/extend/insert, no forward", function()
    local ml = nn.ModuleList({nn.Linear(2, 2), nn.ReLU()})
    assert.are.equal(2, #ml)
    ml:append(nn.Tanh())
    ml:extend({nn.Sigmoid()})
    ml:insert(1, nn.Identity())
    local kinds = {}
    for i, m in ipairs(ml) do kinds[i] = m:_get_name() end
    assert.are.same({"Identity", "Linear", "ReLU", "Tanh", "Sigmoid"}, kinds)
    assert.are.same({"1.weight", "1.bias"}, names(ml:named_parameters()))
    H.errors('Module [ModuleList] is missing the required "forward" function', function() ml(tg.ones(1)) end)
    local Holder = nn.Module:extend("Holder")
    function Holder:__init() self.layers = nn.ModuleList({nn.Linear(1, 1), nn.Linear(1, 1)}) end
    assert.are.same({"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"},
      names(Holder():named_parameters()))
  end)

  it("ModuleDict: ordered pairs, map, keys/values/items, pairs, pop, update", function()
    local d = nn.ModuleDict({{"conv", nn.Conv2d(1, 2, 3)}, {"pool", nn.MaxPool2d(2)}})
    assert.are.same({"conv", "pool"}, d:keys())
    assert.are.equal(2, #d)
    assert.is_true(d.conv:isinstance(nn.Conv2d))
    assert.are.equal(d.pool, d["pool"])
    d.act = nn.ReLU()
    assert.are.same({"conv", "pool", "act"}, d:keys())
    local ks = {}
    for k, m in pairs(d) do ks[#ks + 1] = k; assert.is_true(nn.is_module(m)) end
    assert.are.same({"conv", "pool", "act"}, ks)
    assert.are.same({"conv", "pool", "act"}, names(d:items()))
    assert.are.equal(3, #d:values())
    local m = d:pop("pool")
    assert.is_true(m:isinstance(nn.MaxPool2d))
    assert.is_false(d:contains("pool"))
    local sorted = nn.ModuleDict({b = nn.ReLU(), a = nn.Tanh()})
    assert.are.same({"a", "b"}, sorted:keys())
    sorted:update({{"a", nn.Sigmoid()}})
    assert.is_true(sorted.a:isinstance(nn.Sigmoid))
    H.errors("ModuleDict update sequence element #0 has length 1; 2 is required",
      function() sorted:update({{"x"}}) end)
  end)
end)

describe("forward hooks (test_module_hooks)", function()
  it("pre-hooks and hooks run in order, see args and output, can replace them", function()
    local m = nn.Linear(2, 2)
    local calls = {}
    local h1 = m:register_forward_pre_hook(function(mod, args)
      calls[#calls + 1] = "pre1"
      assert.are.equal(m, mod)
      assert.are.equal(1, args.n)
    end)
    local h2 = m:register_forward_hook(function(_, args, out)
      calls[#calls + 1] = "fwd1"
      assert.is_true(tg.is_tensor(args[1]))
      assert.are.same({3, 2}, out.shape)
    end)
    m:register_forward_hook(function() calls[#calls + 1] = "fwd0" end, {prepend = true})
    m(tg.ones(3, 2))
    assert.are.same({"pre1", "fwd0", "fwd1"}, calls)
    h1:remove()
    h2:remove()
    h2:remove()   -- twice is harmless
    calls = {}
    m(tg.ones(3, 2))
    assert.are.same({"fwd0"}, calls)
  end)

  it("a pre-hook result replaces the input, a hook result the output", function()
    local m = nn.Identity()
    m:register_forward_pre_hook(function(_, args) return args[1] * 2 end)
    H.assert_close(m(tg.ones(2)), {2, 2})
    m:register_forward_pre_hook(function(_, args) return {args[1] + 1} end)
    H.assert_close(m(tg.ones(2)), {3, 3})
    local h = m:register_forward_hook(function(_, _, out) return out * 10 end)
    H.assert_close(m(tg.ones(2)), {30, 30})
    h:remove()
    H.assert_close(m(tg.ones(2)), {3, 3})
  end)

  it("hooks on submodules fire inside the parent's forward, and gradients still flow", function()
    local s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    local captured
    s[1]:register_forward_hook(function(_, _, out) captured = out end)
    local y = s(tg.randn(4, 2))
    assert.are.same({4, 3}, captured.shape)
    y:sum():backward()
    assert.is_not_nil(s[1].weight.grad)
    H.errors("register_forward_hook expects a function, got number", function() s:register_forward_hook(3) end)
  end)
end)

describe("layer constructors: options and errors as PyTorch", function()
  it("positional and keyword arguments", function()
    local c = nn.Conv2d(3, 8, 3, 2, 1, 1, 1, false)
    assert.are.same({2, 2}, c.stride)
    assert.is_nil(c.bias)
    H.errors("Linear.__init__() got an unexpected keyword argument 'bias_'", nn.Linear, 2, 3, {bias_ = false})
    H.errors("Linear.__init__() missing required argument: 'out_features'", nn.Linear, 2)
    H.errors("Linear.__init__() got multiple values for argument 'bias'", nn.Linear, 2, 3, true, {bias = false})
  end)

  it("conv argument checks", function()
    H.errors("in_channels must be divisible by groups", nn.Conv2d, 3, 4, 3, {groups = 2})
    H.errors("out_channels must be divisible by groups", nn.Conv2d, 4, 3, 3, {groups = 2})
    H.errors("Invalid padding string 'full', should be one of {'valid', 'same'}", nn.Conv2d, 1, 1, 3, {padding = "full"})
    H.errors("padding='same' is not supported for strided convolutions", nn.Conv2d, 1, 1, 3, {padding = "same", stride = 2})
    H.errors("padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got padding_mode='edge'",
      nn.Conv1d, 1, 1, 3, {padding_mode = "edge"})
    H.errors('Only "zeros" padding mode is supported for ConvTranspose2d', nn.ConvTranspose2d, 1, 1, 3,
      {padding_mode = "reflect"})
    assert.are.same({6, 2, 3, 5}, nn.Conv2d(4, 6, {3, 5}, {groups = 2}).weight.shape)
    assert.are.same({4, 3, 2, 2}, nn.ConvTranspose2d(4, 6, 2, {groups = 2}).weight.shape)
    assert.are.same({5, 2, 7}, nn.Conv1d(2, 5, 7).weight.shape)
  end)

  it("norm, embedding, loss argument checks", function()
    H.errors("num_channels must be divisible by num_groups", nn.GroupNorm, 3, 4)
    H.errors("Padding_idx must be within num_embeddings", nn.Embedding, 4, 2, {padding_idx = 5})
    H.errors("mean_ is not a valid value for reduction", nn.MSELoss, {reduction = "mean_"})
    local e = nn.Embedding(4, 2, {padding_idx = -1})
    assert.are.equal(4, e.padding_idx)
    H.assert_close(e.weight[4], {0, 0})
    local bn = nn.BatchNorm2d(3)
    assert.are.same({"weight", "bias"}, names(bn:named_parameters()))
    assert.are.same({"running_mean", "running_var", "num_batches_tracked"}, names(bn:named_buffers()))
    local nb = nn.BatchNorm1d(3, {affine = false, track_running_stats = false})
    assert.are.same({}, nb:parameters())
    assert.are.same({}, nb:buffers())
    H.errors("expected 4D input (got 2D input)", function() bn(tg.ones(2, 3)) end)
    H.errors("expected 2D or 3D input (got 4D input)", function() nn.BatchNorm1d(3)(tg.ones(2, 3, 1, 1)) end)
  end)

  it("Embedding.from_pretrained shares the tensor and freezes by default", function()
    local w = tg.tensor({{1.0, 2.0}, {3.0, 4.0}})
    local e = nn.Embedding.from_pretrained(w)
    assert.is_false(e.weight.requires_grad)
    w:fill_(0)
    H.assert_close(e.weight, tg.zeros(2, 2))
    assert.is_true(nn.Embedding.from_pretrained(w, {freeze = false}).weight.requires_grad)
    H.errors("Embeddings parameter is expected to be 2-dimensional", nn.Embedding.from_pretrained, tg.ones(3))
  end)

  it("Flatten / Unflatten / Identity / Softmax implicit dim", function()
    local x = tg.randn(2, 3, 4)
    assert.are.same({2, 12}, nn.Flatten()(x).shape)
    assert.are.same({24}, nn.Flatten(1)(x).shape)
    assert.are.same({2, 3, 2, 2}, nn.Unflatten(3, {2, 2})(x).shape)
    assert.are.equal(x, nn.Identity()(x))
    H.assert_close(nn.Softmax()(x), tg.softmax(x, 1), 1e-6)   -- a 3-D input: dim 1, as PyTorch's legacy rule
    H.assert_close(nn.Softmax()(x[1]), tg.softmax(x[1], 2), 1e-6)
  end)
end)

describe("errors name the caller's line", function()
  it("in forward, in a constructor, in tg.F, through nested modules", function()
    local Net = nn.Module:extend("PosNet")
    function Net:__init() self.fc = nn.Linear(4, 2) end
    function Net:forward(x)
      local y = self.fc(x)   -- the inner module's error names this line
      return y
    end
    local ok, err = pcall(function() local y = Net()(tg.ones(3, 5)) return y end)
    assert.is_false(ok)
    assert.is_truthy(err:find("nn_module_spec.lua:%d+: mat1 and mat2 shapes cannot be multiplied %(3x5 and 4x2%)"), err)
    ok, err = pcall(function() local m = nn.Linear(3) return m end)
    assert.is_truthy(err:find("nn_module_spec.lua:%d+: Linear.__init__%(%) missing required argument: 'out_features'"), err)
    ok, err = pcall(function() local y = nn.Sequential(nn.Linear(3, 2))(tg.ones(2, 5)) return y end)
    assert.is_truthy(err:find("^[^\n]*nn_module_spec.lua:%d+: mat1 and mat2"), err)
    ok, err = pcall(function() local y = tg.F.one_hot(tg.ones(2)) return y end)
    assert.is_truthy(err:find("nn_module_spec.lua:%d+: one_hot is only applicable"), err)
    -- a user's own error keeps its position
    local Bad = nn.Module:extend("Bad")
    function Bad:forward() error("my own failure") end
    ok, err = pcall(function() local y = Bad()() return y end)
    assert.is_truthy(err:find("nn_module_spec.lua:%d+: my own failure"), err)
  end)
end)

describe("full backward hooks (test_module_hooks)", function()
  it("the pre-hook sees grad_output, then the hook sees grad_input and grad_output", function()
    local m = nn.Linear(3, 2)
    local x = tg.randn(4, 3, {requires_grad = true})
    local order, got_in, got_out = {}, nil, nil
    m:register_full_backward_pre_hook(function(mod, gout)
      assert.are.equal(m, mod)
      order[#order + 1] = "pre"
      assert.are.same({4, 2}, gout[1].shape)
    end)
    local h = m:register_full_backward_hook(function(_, gin, gout)
      order[#order + 1] = "full"
      got_in, got_out = gin, gout
    end)
    local y = m(x)
    assert.are.equal("BackwardHookFunctionBackward", y.grad_fn.name)
    local g = tg.randn(4, 2)
    y:backward(g)
    assert.are.same({"pre", "full"}, order)
    H.assert_close(got_out[1], g, 0)
    H.assert_close(got_in[1], tg.mm(g, m.weight), 1e-6)
    H.assert_close(x.grad, got_in[1], 0)
    h:remove()
    order = {}
    m(x):sum():backward()
    assert.are.same({"pre"}, order)
  end)

  it("results replace grad_input (hook) and grad_output (pre-hook, reaching the parameters)", function()
    local m = nn.Linear(3, 2)
    local x = tg.randn(4, 3, {requires_grad = true})
    m:register_full_backward_hook(function(_, gin) return {gin[1] * 3} end)
    m(x):sum():backward()
    H.assert_close(x.grad, tg.mm(tg.ones(4, 2), m.weight) * 3, 1e-6)
    local m2 = nn.Linear(3, 2)
    m2:register_full_backward_pre_hook(function(_, gout) return {gout[1] * 0} end)
    m2(x):sum():backward()
    H.assert_close(m2.weight.grad, tg.zeros(2, 3))
  end)

  it("an input without grad gets nil in grad_input; the hook still fires; no_grad skips it", function()
    local m = nn.Bilinear(2, 3, 1)
    local a, b = tg.randn(5, 2), tg.randn(5, 3, {requires_grad = true})
    local gin
    m:register_full_backward_hook(function(_, gi) gin = gi end)
    m(a, b):sum():backward()
    assert.are.equal(2, gin.n)
    assert.is_nil(gin[1])
    H.assert_close(gin[2], b.grad, 0)
    local fired = false
    local m3 = nn.Linear(2, 2)
    m3:register_full_backward_hook(function(_, gi) fired = true assert.is_nil(gi[1]) end)
    m3(tg.randn(3, 2)):sum():backward()
    assert.is_true(fired)
    local y = tg.no_grad(function() return m3(tg.randn(3, 2)) end)
    assert.is_nil(y.grad_fn)
  end)
end)

describe("ParameterList / ParameterDict", function()
  it("ParameterList: tensors become parameters named 0, 1, ...; 1-based indexing; printing", function()
    local t = tg.randn(3, 4)
    local pl = nn.ParameterList({t, nn.Parameter(tg.randn(5))})
    assert.are.equal(2, #pl)
    assert.is_true(nn.is_parameter(pl[1]))
    assert.are.same({5}, pl[-1].shape)
    pl:append(tg.ones(2))
    local seen = {}
    for i, p in ipairs(pl) do seen[i] = p:numel() end
    assert.are.same({12, 5, 2}, seen)
    pl[3] = tg.zeros(1)
    assert.are.same({1}, pl[3].shape)
    assert.are.equal("ParameterList(\n    (0): Parameter containing: [tgrad.float32 of size 3x4]\n"
      .. "    (1): Parameter containing: [tgrad.float32 of size 5]\n    (2): Parameter containing: [tgrad.float32 of size 1]\n)",
      tostring(pl))
    local Holder = nn.Module:extend("PHolder")
    function Holder:__init() self.ps = nn.ParameterList({tg.ones(2)}) self.l = nn.Linear(1, 1) end
    local h = Holder()
    assert.are.same({"ps.0", "l.weight", "l.bias"}, names(h:named_parameters()))
    assert.are.equal("PHolder(\n  (ps): ParameterList(  (0): Parameter containing: [tgrad.float32 of size 2])\n"
      .. "  (l): Linear(in_features=1, out_features=1, bias=True)\n)", tostring(h))
    H.errors("ParameterList.append: expected a tensor or tg.nn.Parameter, got number", function() pl:append(3) end)
  end)

  it("ParameterDict: sorted from a map, ordered from pairs, assignment wraps tensors", function()
    local d = nn.ParameterDict({b = tg.randn(2), a = tg.randn(1, 2)})
    assert.are.same({"a", "b"}, d:keys())
    d.c = tg.ones(3)
    assert.is_true(nn.is_parameter(d.c))
    assert.are.equal(3, #d)
    local ks = {}
    for k in pairs(d) do ks[#ks + 1] = k end
    assert.are.same({"a", "b", "c"}, ks)
    assert.are.same({"a", "b", "c"}, names(d:named_parameters()))
    d.b = nil
    assert.are.same({"a", "c"}, d:keys())
    assert.are.same({3}, d:pop("c").shape)
    assert.are.same({"a"}, names(d:named_parameters()))
  end)
end)

describe("printing helpers (tgrad.nn.pyrepr)", function()
  it("floats as Python's repr, values as Python writes them", function()
    local R = require "tgrad.nn.pyrepr"
    local got = {}
    for i, v in ipairs({0.1, 1e-5, 100000.0, 1e16, 1.5e-7, 123456789.0, 0.0001, 2.0, -0.5, 1 / 3, 1e22,
                        12345678901234567.0, 5e-324, 0.0, -0.0}) do got[i] = R.float(v) end
    -- printed by Python 3's repr
    assert.are.same({"0.1", "1e-05", "100000.0", "1e+16", "1.5e-07", "123456789.0", "0.0001", "2.0", "-0.5",
                     "0.3333333333333333", "1e+22", "1.2345678901234568e+16", "5e-324", "0.0", "-0.0"}, got)
    assert.are.equal("None", R.repr(nil))
    assert.are.equal("True", R.repr(true))
    assert.are.equal("(3,)", R.repr({3}))
    assert.are.equal("(1, 2)", R.repr({1, 2}))
    assert.are.equal("'nearest'", R.repr("nearest"))
    assert.are.equal("same", R.str("same"))
    assert.are.equal("a\n    b", R.addindent("a\n  b", 2))
  end)
end)
