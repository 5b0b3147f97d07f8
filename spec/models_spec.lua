-- models_spec: tg.models.resnet18/34 against torchvision (fixtures written by
-- tools/gen_resnet_fixtures.py). The state_dict values come from a formula
-- both sides compute (see the generator); here they are built in tgrad,
-- written with tg.save, loaded into a fresh model with strict = true, and the
-- eval-mode logits are compared with PyTorch's.
local tg = require "tgrad"
local fixtures = require "support.fixtures"
local cases = fixtures.load("resnet")

local function make_value(j, name, shape)
  if name:find("num_batches_tracked$") then return nil end
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local s = tg.arange(0, n, {dtype = tg.float64}):mul(0.731):add(j):sin()
  local v
  if name:find("running_var$") then v = s * s * 0.25 + 1
  elseif name:find("running_mean$") then v = s * 0.1
  elseif #shape > 1 then v = s * math.sqrt(2.0 / (n // shape[1]))
  elseif name:find("bn") or name:find("downsample%.1") then
    v = name:find("weight$") and s * 0.1 + 1 or s * 0.1
  else v = s * 0.1 end
  return v:float():reshape(shape)
end

local function make_input(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return tg.arange(0, n, {dtype = tg.float64}):mul(0.013):sin():float():reshape(shape)
end

describe("tg.models.resnet", function()
  it("resnet18 has torchvision's 11,689,512 parameters, named as torchvision", function()
    local net = tg.models.resnet18()
    local names = {}
    for name in net:named_parameters() do names[#names + 1] = name end
    assert.are.equal("conv1.weight", names[1])
    assert.are.equal("layer4.1.conv2.weight", names[#names - 4])
    assert.are.equal("fc.bias", names[#names])
    assert.are.equal("BasicBlock", tostring(net.layer4[2]):match("^(%w+)%("))
    local n = 0
    for _, p in ipairs(net:parameters()) do n = n + p:numel() end
    assert.are.equal(11689512, n)
    assert.are.equal(62, #net:parameters())
  end)

  it("resnet50 has torchvision's 25,557,032 parameters", function()
    local n = 0
    for _, p in ipairs(tg.models.resnet50():parameters()) do n = n + p:numel() end
    assert.are.equal(25557032, n)
  end)

  for _, c in ipairs(cases) do
    describe(("%s(num_classes = %d) on %s"):format(c.arch, c.num_classes, table.concat(c.input, "x")), function()
      local net = tg.models[c.arch]({num_classes = c.num_classes})

      it("has torchvision's state_dict keys, shapes and dtypes, in order", function()
        local sd = net:state_dict()
        local got = {}
        for k in pairs(sd) do got[#got + 1] = k end    -- ordered pairs
        local want = {}
        for i, k in ipairs(c.keys) do want[i] = k[1] end
        assert.are.same(want, got)
        for _, k in ipairs(c.keys) do
          assert.are.same(k[2], sd[k[1]].shape, k[1])
          assert.are.equal(tg[k[3]], sd[k[1]].dtype, k[1])
        end
      end)

      it("loads the state_dict through a safetensors file (strict) and gives PyTorch's logits", function()
        local sd = {}
        for j, k in ipairs(c.keys) do
          sd[k[1]] = make_value(j, k[1], k[2]) or tg.tensor(0)
        end
        local path = os.tmpname()
        tg.save(path, sd)
        local fresh = tg.models[c.arch]({num_classes = c.num_classes})
        fresh:load_state_dict(tg.load(path), {strict = true})
        os.remove(path)
        fresh:eval()
        local logits = tg.no_grad(function() return fresh(make_input(c.input)) end)
        assert.are.same(c.logits_shape, logits.shape)
        local got = fixtures.flatten(logits:tolist())
        local maxdiff = 0
        for i, v in ipairs(c.logits) do maxdiff = math.max(maxdiff, math.abs(got[i] - v)) end
        assert.is_true(maxdiff < 2e-4, ("max |logit - torch| = %g"):format(maxdiff))
      end)
    end)
  end

  it("trains: one SGD step on resnet18 lowers the loss on a fixed tiny batch", function()
    tg.manual_seed(3)
    local net = tg.models.resnet18({num_classes = 4})
    local x, y = tg.randn(4, 3, 32, 32), tg.tensor({1, 2, 3, 4})
    local opt = tg.optim.SGD(net:parameters(), {lr = 0.05})
    local first, last
    for i = 1, 3 do
      opt:zero_grad()
      local loss = tg.F.cross_entropy(net(x), y)
      loss:backward()
      opt:step()
      if i == 1 then first = loss:item() end
      last = loss:item()
    end
    assert.is_true(last < first, ("loss %g -> %g"):format(first, last))
    for name, p in net:named_parameters() do assert.is_not_nil(p.grad, name) end
  end)

  it("rejects unknown options with Python's wording", function()
    assert.has_error(function() tg.models.resnet18({num_class = 3}) end,
      "ResNet.__init__() got an unexpected keyword argument 'num_class'")
  end)
end)

describe("README's Models and examples section", function()
  it("its Lua snippet runs and prints what its --> comments say", function()
    local src = debug.getinfo(1, "S").source:sub(2)
    local root = src:match("^(.*)/spec/[^/]*$") or "."
    local f = assert(io.open(root .. "/README.md"))
    local readme = f:read("a")
    f:close()
    local section = assert(readme:match("\n## Models and examples\n(.-)\n## "), "section missing")
    local code = assert(section:match("```lua\n(.-)```"), "no Lua block")
    local printed = {}
    local env = setmetatable({print = function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
      printed[#printed + 1] = table.concat(parts, "\t")
    end}, {__index = _G})
    assert(load(code, "=README", "t", env))()
    local want = {}
    for line in code:gmatch("[^\n]+") do
      local w = line:match("%-%->%s*(.-)%s*$")
      if w then want[#want + 1] = w end
    end
    assert.are.same(want, printed)
  end)
end)
