-- crash_regression_spec.lua: one case per class of the memory errors and crashes
-- the fuzzer found (issue 9); each used to be a use-after-free, an over-read, a
-- heap overflow, a SIGFPE, a NULL dereference, a signed overflow (UBSan) or a
-- hang, and is now a result or a clear Lua error. `make check` runs them under
-- ASan and UBSan.
local tg = require "tgrad"
local helpers = require "support.helpers"
local assert_close = helpers.assert_close
local errors = helpers.errors
local d64 = helpers.d64

local M, m = math.maxinteger, math.mininteger

local function full_gc() collectgarbage(); collectgarbage() end

describe("use-after-free through retain_grad", function()
  it("y:retain_grad(), y:detach_(), y collected, then backward through y's old node", function()
    local x = d64({1, 2})
    local z
    do
      local y = x * 2
      y:retain_grad()
      z = y * 3
      y:detach_()
      assert.is_false(y.retains_grad)
    end
    full_gc()
    z:sum():backward()
    assert_close(x.grad, {6, 6})
  end)

  it("an in-place write rebasing a retained view, the view collected, then backward", function()
    local x = d64({1, 2, 3})
    local z, b
    do
      b = x * 1
      local v = b:narrow(1, 1, 2)
      v:retain_grad()
      z = v + 0 -- through v's old grad_fn, which had v in its retained slot
      v:mul_(2) -- v's grad_fn is regenerated: the retained slot moves with it
    end
    full_gc()
    z:sum():backward()
    assert_close(x.grad, {1, 1, 0})
    local b2 = x * 1
    do
      local v = b2:narrow(1, 2, 2)
      v:retain_grad()
      b2:add_(1)
      local _ = v.grad_fn -- regenerated here
    end
    full_gc()
    b2:sum():backward()
  end)
end)

describe("root gradients are checked against what the graph recorded", function()
  it("a shape that fits the tensor's new .data but not the graph: PyTorch's message", function()
    local x = tg.randn(16, {requires_grad = true})
    local y = x:softmax(1)
    y.data = tg.randn(3)
    errors("invalid gradient at index 0 - got [3] but expected shape compatible with [16]",
           function() y:backward(tg.randn(3)) end)
    errors("Mismatch in shape: grad_output[0] has a shape of torch.Size([2, 16])",
           function() tg.autograd.grad(x:softmax(1), x, tg.randn(2, 16)) end)
  end)

  it("a float64 or int64 gradient for a float32 output is cast (not read as another type)", function()
    local a = tg.tensor({{1, 2, 3}, {4, 5, 6}}, {dtype = tg.float32, requires_grad = true})
    local b = tg.tensor({{1, 0}, {0, 1}, {1, 1}}, {dtype = tg.float32})
    local y = tg.mm(a, b)
    y:backward(tg.ones(2, 2, {dtype = tg.float64}), {retain_graph = true})
    assert.are.equal(tg.float32, a.grad.dtype)
    assert_close(a.grad, {{1, 1, 2}, {1, 1, 2}})
    a.grad = nil
    y:backward(tg.ones(2, 2, {dtype = tg.int64}), {retain_graph = true})
    assert_close(a.grad, {{1, 1, 2}, {1, 1, 2}})
    local g = tg.autograd.grad(y, a, tg.full({2, 2}, 2, {dtype = tg.float64}))[1]
    assert.are.equal(tg.float32, g.dtype)
    assert_close(g, {{2, 2, 4}, {2, 2, 4}})
  end)
end)

describe("what node hooks return is checked", function()
  it("a pre hook returning another dtype is refused as PyTorch", function()
    local a = tg.randn(2, 3, {requires_grad = true})
    local y = tg.mm(a, tg.randn(3, 2))
    y.grad_fn:register_prehook(function() return {tg.ones(2, 2, {dtype = tg.float64})} end)
    errors("has changed the type of value (was torch.FloatTensor got torch.DoubleTensor)",
           function() y:sum():backward() end)
  end)

  it("a post hook returning another dtype or shape is refused", function()
    local a = tg.randn(2, 3, {requires_grad = true})
    local y = tg.mm(a * 1, tg.randn(3, 2))
    y.grad_fn:register_hook(function() return {tg.ones(2, 3, {dtype = tg.int64}), nil} end)
    errors("has changed the type of value (was torch.FloatTensor got torch.LongTensor)", function() y:sum():backward() end)
    local y2 = tg.mm(a * 1, tg.randn(3, 2))
    y2.grad_fn:register_hook(function() return {tg.ones(5), nil} end)
    errors("has changed the size of value", function() y2:sum():backward() end)
  end)

  it("a pre hook filling the slot of an unused output with any shape is refused", function()
    local F = tg.autograd.Function{
      name = "Two",
      forward = function(_, x) return x * 1, x * 2 end,
      backward = function(_, g1, g2) return g1 + g2 * 2 end,
    }
    local a = tg.randn(3, {requires_grad = true})
    local p = F(a)
    p.grad_fn:register_prehook(function(g) return {g[1], tg.ones(7)} end)
    errors("Function TwoBackward returned an invalid gradient at index 1 - got [7] but expected shape compatible with [3]",
           function() p:sum():backward() end)
    -- the right shape in another dtype is cast
    local a2 = d64({1, 2, 3})
    local p2 = F(a2)
    p2.grad_fn:register_prehook(function(g) return {g[1], tg.ones(3, {dtype = tg.float32})} end)
    p2:sum():backward()
    assert_close(a2.grad, {3, 3, 3})
  end)
end)

describe(".data of another shape or dtype on a leaf", function()
  it("drops a .grad that no longer fits; a graph built before refuses, one built after works", function()
    local x = tg.randn(3, {requires_grad = true})
    local old = (x * 2):sum()
    ;(x * 2):sum():backward()
    x.data = tg.randn(5)
    assert.is_nil(x.grad)
    errors("invalid gradient", function() old:backward() end)
    ;(x * 2):sum():backward()
    assert_close(x.grad, {2, 2, 2, 2, 2})
    x.data = tg.randn(5, {dtype = tg.float64})
    assert.is_nil(x.grad)
    ;(x * 2):sum():backward()
    assert.are.equal(tg.float64, x.grad.dtype)
    assert_close(x.grad, {2, 2, 2, 2, 2})
  end)
end)

describe("tg.tensor does not trust __len", function()
  it("lengths whose product overflows are refused before allocating", function()
    local inner = setmetatable({}, {__len = function() return 2 ^ 40 end})
    local t = setmetatable({}, {__len = function() return 2 ^ 30 end, __index = function() return inner end})
    -- refused before any allocation: the budget of tables with metatables (2^25 elements)
    errors("tables with metatables claim more than 2^25 elements", function() tg.tensor(t) end)
    errors("tables with metatables claim more than 2^25 elements",
           function() tg.tensor(setmetatable({}, {__len = function() return M end})) end)
    -- and a product that overflows within the budget's reach of the first path
    local small = setmetatable({}, {__len = function() return 2 ^ 20 end, __index = function() return {} end})
    errors("more than 2^24 rows and no element", function() tg.tensor({small, small, small, small, small, small,
      small, small, small, small, small, small, small, small, small, small, small}) end)
    errors("claims a negative length", function() tg.tensor(setmetatable({}, {__len = function() return -3 end})) end)
  end)

  it("a __len that changes between calls cannot write past the buffer", function()
    local n = 0
    local row = setmetatable({}, {__len = function() n = n + 1; return n == 1 and 1 or 2 end,
                                  __index = function() return 1 end})
    local ok = pcall(tg.tensor, {row, row})
    assert.is_false(ok)
  end)
end)

describe("custom Function counts", function()
  it("a negative (or absurd) saved count is an error", function()
    local F = tg.autograd.Function{
      forward = function(ctx, x) ctx._to_save = {n = -5}; return x * 1 end,
      backward = function(_, g) return g end,
    }
    errors("is not a valid count", function() F(tg.randn(3, {requires_grad = true})) end)
  end)
end)

describe("sizes near INT64_MAX", function()
  it("are accepted on zero-element tensors where the result is representable", function()
    assert.are.same({M, 0}, tg.eye(M, 0).shape)
    assert.are.same({0, M}, tg.eye(0, M).shape)
    assert.are.same({M, 0}, tg.randint(0, 10, {M, 0}).shape)
    assert.are.same({M, 0}, tg.zeros(0):view(M, 0).shape)
    assert.are.same({0, M}, tg.zeros(0):view(-1, M).shape)
    assert.are.same({0, M, M}, tg.zeros(0, M, M).shape)
    assert.are.same({M, 0}, tg.zeros(0)["repeat"](tg.zeros(0), M, 1).shape)
    assert.are.same({0}, tg.zeros(M, 0, M):flatten().shape)
    assert.are.same({0}, tg.zeros(0):roll(m, 1).shape)
    assert.are.equal(3, #tg.zeros(M, 0):chunk(3))
  end)

  it("are clear errors where the result is not", function()
    errors("Storage size calculation overflowed", function() tg.zeros(M, M, 0) end)
    errors("Storage size calculation overflowed", function() tg.eye(M) end)
    errors("cat: the sizes of the tensors in dimension 1 add up to more than", function()
      local a = tg.zeros(M, 0)
      tg.cat({a, a, a}, 1)
    end)
    errors("repeat: the size of dimension 1 (2 repeated " .. M .. " times) overflows",
           function() local a = tg.zeros(2, 0); return a["repeat"](a, M, 1) end)
    errors("start (2) + length (" .. M .. ") exceeds dimension size (3).", function() tg.zeros(3):narrow(1, 2, M) end)
    errors("start out of range", function() tg.zeros(3):narrow(1, m, 1) end)
    errors("start out of range", function() tg.zeros(3):narrow(1, M, 1) end)
    errors("split: " .. M .. " pieces is more than the supported maximum", function() tg.zeros(M, 0):split(1) end)
    errors("unbind: " .. M .. " pieces is more than the supported maximum", function() tg.zeros(M, 0):unbind(1) end)
  end)

  it("chunk(2^40) of an empty dim is an error, not 2^40 tensors", function()
    errors("chunk: 1099511627776 pieces is more than the supported maximum", function() tg.zeros(0):chunk(2 ^ 40) end)
    assert.are.equal(4, #tg.zeros(0):chunk(4)) -- as PyTorch: that many empty pieces
    assert.are.equal(5, #tg.zeros(5):chunk(M)) -- a non-empty dim: one piece per element
  end)

  it("randint's span covers the whole int64 range without overflow", function()
    local t = tg.randint(m, M, {64})
    assert.are.same({64}, t.shape)
    local u = tg.randint(-1, M, {8})
    for _, v in ipairs(u:tolist()) do assert.is_true(v >= -1) end
  end)
end)

describe("empty tensors divide by nothing", function()
  it("mm of 0x0 @ 0x3", function()
    local r = tg.mm(tg.zeros(0, 0), tg.zeros(0, 3))
    assert.are.same({0, 3}, r.shape)
  end)

  it("sums and means over an empty dim", function()
    assert.are.same({0}, tg.zeros(3, 0):sum(1).shape)
    assert_close(tg.zeros(3, 0):sum(2), {0, 0, 0})
    for _, v in ipairs(tg.zeros(3, 0):mean(2):tolist()) do assert.is_true(v ~= v) end
  end)

  it("backward through expand of an empty tensor", function()
    local x = tg.zeros(0, 1, {requires_grad = true})
    x:expand(0, 4):sum():backward()
    assert.are.same({0, 1}, x.grad.shape)
  end)

  it("cross_entropy with 0 classes: nan for an empty batch, PyTorch's out-of-bounds text otherwise", function()
    local l = tg.nn.functional.cross_entropy(tg.zeros(0, 0), tg.zeros(0, {dtype = tg.int64}))
    assert.is_true(l:item() ~= l:item())
    errors("Target 1 is out of bounds.", function() tg.nn.functional.cross_entropy(tg.zeros(3, 0), tg.tensor({1, 1, 1})) end)
    assert.is_true(tg.zeros(3, 0):is_contiguous())
    -- probability targets with 0 classes (the mean divides by numel / C): nan, as PyTorch
    local p = tg.nn.functional.cross_entropy(tg.zeros(2, 0), tg.zeros(2, 0))
    assert.is_true(p:item() ~= p:item())
  end)
end)

describe("bad arguments that reached C", function()
  it("backward(nil, {inputs = {nil, w}})", function()
    local w = tg.randn(3, {requires_grad = true})
    local y = (w * 2):sum()
    errors("backward inputs: element 1 is nil, expected a Tensor", function() y:backward(nil, {inputs = {nil, w}}) end)
    y:backward(nil, {inputs = {w}})
    assert_close(w.grad, {2, 2, 2})
  end)

  it("set_num_threads(100000) and 2^32 are refused; the count is unchanged", function()
    local n = tg.get_num_threads()
    errors("set_num_threads(): the number of threads must be between 1 and 1024, got 100000",
           function() tg.set_num_threads(100000) end)
    errors("set_num_threads(): the number of threads must be between 1 and 1024, got 4294967296",
           function() tg.set_num_threads(2 ^ 32) end)
    errors("set_num_threads(): the number of threads must be between 1 and 1024, got 0",
           function() tg.set_num_threads(0) end)
    assert.are.equal(n, tg.get_num_threads())
  end)
end)

describe("int64 sums wrap around as PyTorch's (no signed-overflow UB; fuzz_safetensors found it)", function()
  it("sum of two large int64 values", function()
    local t = tg.tensor({4611686018427387903, 7306016172548292608})
    assert.are.equal(-6529041882733871105, t:sum():item())
    assert.are.same({-6529041882733871105}, t:reshape(1, 2):sum(2):tolist())
    assert.are.same({-6529041882733871105}, t:reshape(2, 1):sum(1):tolist())
  end)
end)
