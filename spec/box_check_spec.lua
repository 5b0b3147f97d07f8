-- box (issue 11): a tensor box is two words, the tensor and a tag (the
-- context's Tensor metatable pointer); the hot paths check a box by its size
-- and tag instead of pushing its metatable. These specs pin that anything else
-- is still refused with the same messages, and that boxes still work.
local tg = require "tgrad"

local function err(f, ...)
  local ok, m = pcall(f, ...)
  assert.is_false(ok)
  return tostring(m)
end

describe("box check", function()
  -- io.stdout is a full userdata of two words (luaL_Stream: FILE *, closef),
  -- the size of a box: only the tag tells them apart
  it("refuses a foreign userdata of a box's size everywhere", function()
    local t = tg.ones(2, 2)
    assert.matches("expected Tensor but got userdata", err(tg.relu, io.stdout))
    assert.matches("expected Tensor but got userdata", err(tg.matmul, t, io.stdout))
    assert.matches("expected Tensor but got userdata", err(tg.matmul, io.stdout, t))
    assert.matches("expected Tensor or number but got userdata", err(function() return t + io.stdout end))
    assert.matches("expected Tensor or number but got userdata", err(function() return t:add_(io.stdout) end))
    assert.matches("expected Tensor but got userdata",
                   err(tg.nn.functional.cross_entropy, io.stdout, tg.tensor({1})))
    assert.matches("tgrad.Tensor expected, got FILE", err(tg._Tensor_mt.__gc, io.stdout))
    assert.matches("tgrad.Tensor expected, got FILE", err(tg._Tensor_mt.__index, io.stdout, "grad"))
    assert.matches("expected Tensor but got userdata", err(tg._Tensor_mt.__newindex, io.stdout, "grad", nil))
    assert.matches("expected Tensor but got userdata", err(tg._optim.zero_grad, {io.stdout}, true))
    assert.matches("expected Tensor but got userdata", err(tg._optim.sgd_list, {io.stdout}, 0.1, 0, false))
    -- nothing was read from or written to the file handle
    assert.equal(io.stdout, io.stdout:write(""))
    local g = tg.ones(2, {requires_grad = true})
    assert.matches("expected Tensor", err(function() g.grad = io.stdout end))
    assert.is_nil(g.grad)
  end)

  it("refuses other Lua values", function()
    for _, v in ipairs({1, "x", {}, true, print, coroutine.create(print)}) do
      assert.has_error(function() tg.relu(v) end)
      assert.has_error(function() tg._Tensor_mt.__gc(v) end)
    end
  end)

  it("a method is found before the box is checked (also on a freed tensor)", function()
    local t = tg.ones(2)
    t:free()
    assert.equal(tg._Tensor.add, t.add)
    assert.equal(tg._Tensor.relu, tg._Tensor_mt.__index(t, "relu"))
    -- the raw metamethod, called directly on something else, answers a method
    -- name too (nothing is read from its first argument); a field is refused
    assert.equal(tg._Tensor.add, tg._Tensor_mt.__index(io.stdout, "add"))
    assert.matches("tgrad.Tensor expected", err(tg._Tensor_mt.__index, io.stdout, "shape"))
  end)

  it("a freed tensor gives the freed message on every checked path", function()
    local f = tg.ones(2, 2)
    f:free()
    local freed = "the tensor has been freed"
    assert.matches(freed, err(tg.relu, f))
    assert.matches(freed, err(tg.matmul, f, tg.ones(2, 2)))
    assert.matches(freed, err(tg.matmul, tg.ones(2, 2), f))
    assert.matches(freed, err(function() return f:add_(1) end))
    assert.matches(freed, err(function() return tg.ones(2, 2):add_(f) end))
    assert.matches(freed, err(function() f.grad = nil end))
    assert.matches(freed, err(function() return f.grad end))
    assert.matches(freed, err(function() return f[1] end))
    assert.matches(freed, err(function() return f:backward() end))
    assert.matches(freed, err(tg.nn.functional.cross_entropy, f, tg.tensor({1, 2})))
    assert.matches(freed, err(tg._optim.zero_grad, {f}, true))
    assert.matches(freed, err(tg._optim.sgd_list, {f}, 0.1, 0, false))
  end)

  it("boxes made by every path are tensors to every check", function()
    local w = tg.randn(4, 3, {requires_grad = true})
    local b = tg.zeros(3, {requires_grad = true})
    local x = tg.randn(2, 4)
    local h = (x:matmul(w) + b):relu()
    local loss = tg.nn.functional.cross_entropy(h, tg.tensor({1, 3}))
    loss:backward()
    local g = w.grad
    assert.is_true(rawequal(g, w.grad)) -- the cached .grad box
    assert.is_true(rawequal(w.data, w.data)) -- the cached .data box
    assert.is_true(tg.is_tensor(g) and tg.is_tensor(w.data) and tg.is_tensor(loss))
    local before = w.data:clone()
    w.data:add_(g * -0.5)
    assert.is_true((w.data - (before - g * 0.5)):abs():max():item() < 1e-6)
    assert.same({4, 1}, tg.matmul(g, tg.ones(3, 1)).shape)
    w.grad = nil
    assert.is_nil(w.grad)
    w.requires_grad = false
    assert.is_false(w.requires_grad)
    assert.equal(3, #h[1])
  end)
end)
