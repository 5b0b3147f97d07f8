-- errors_spec.lua: errors for bad input name the caller's file and line
-- (luaL_error style), also where the work is done by tgrad's Lua half or by a
-- C function that Lua code calls; and their wording follows PyTorch's (1-based dims).
local tg = require "tgrad"

-- fn(mark) raises an error that starts with "spec/errors_spec.lua:LINE: " and
-- contains text (plain); LINE is the line where fn calls mark() (the call that
-- raises is on the same line)
local function raises_here(text, fn)
  local line
  local function mark() line = debug.getinfo(2, "l").currentline end
  local ok, err = pcall(fn, mark)
  assert(not ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert(line, "the call did not report its line")
  local where = ("spec/errors_spec.lua:%d: "):format(line)
  assert(err:sub(1, #where) == where, ("error %q does not start with %q"):format(err, where))
  assert(err:find(text, 1, true), ("error %q does not contain %q"):format(err, text))
end

describe("errors name the caller's line", function()
  local x, r
  before_each(function()
    x = tg.zeros(2, 3)
    r = tg.zeros(2, 3):requires_grad_(true)
  end)

  it("indexing (t[k], t[k] = v)", function()
    raises_here("index 5 is out of bounds for dimension 1 with size 2", function(mark)
      mark(); local _ = x[5] end)
    raises_here("index 5 is out of bounds for dimension 1 with size 2", function(mark)
      mark(); x[5] = 1 end)
    raises_here("The expanded size of the tensor (3) must match the existing size (4) at non-singleton dimension 1.", function(mark)
      mark(); x[1] = tg.zeros(4) end)
    raises_here("can't assign a string to a Tensor", function(mark)
      mark(); x[1] = "s" end)
    raises_here("a view of a leaf Variable that requires grad is being used in an in-place operation.", function(mark)
      mark(); r[1] = 0 end)
    raises_here("index 4 is out of bounds for dimension 2 with size 3", function(mark)
      mark(); local _ = x[{1, 4}] end)
    raises_here("too many indices for tensor of dimension 2", function(mark)
      mark(); x[{1, 1, 1}] = 0 end)
    raises_here("index range {1, 5} is out of bounds for dimension 2 with size 3", function(mark)
      mark(); x[{{}, {1, 5}}] = 0 end)
  end)

  it("in-place methods implemented over the out-of-place op", function()
    raises_here("clamp", function(mark) mark(); x:clamp_("x") end)
    raises_here("expected Tensor but got string", function(mark) mark(); x:scatter_(1, "x") end)
    raises_here("only supports boolean masks", function(mark)
      mark(); x:masked_fill_(tg.zeros(2, 3), 1) end)
    raises_here("index 9 is out of bounds for dimension 1 with size 2", function(mark)
      mark(); x:index_add_(1, tg.tensor({9}, {dtype = tg.int64}), tg.zeros(1, 3)) end)
    raises_here("a leaf Variable that requires grad is being used in an in-place operation.", function(mark)
      mark(); r:clamp_(0, 1) end)
  end)

  it("tg.Variable, no_grad, enable_grad", function()
    raises_here("Variable data has to be a tensor, but got number", function(mark) mark(); tg.Variable(5) end)
    raises_here("no_grad() expects a function", function(mark) mark(); tg.no_grad(5) end)
    raises_here("enable_grad() expects a function", function(mark) mark(); tg.enable_grad("f") end)
  end)

  it("autograd.grad and autograd.backward", function()
    local y = (r * 2):sum()
    raises_here("all inputs have to be Tensors, but got number", function(mark)
      mark(); tg.autograd.grad(y, {5}) end)
    raises_here("element 0 of tensors does not require grad and does not have a grad_fn", function(mark)
      mark(); tg.autograd.grad(x:gt(0), x) end)
    raises_here("element 0 of tensors does not require grad and does not have a grad_fn", function(mark)
      mark(); tg.autograd.grad(r:gt(0), r) end)
    raises_here("One of the differentiated Tensors does not require grad", function(mark)
      mark(); tg.autograd.grad(y, x) end)
    raises_here("outputs", function(mark) mark(); tg.autograd.grad({5}, r) end)
    raises_here("element 0 of tensors does not require grad", function(mark)
      mark(); tg.autograd.backward({x:sum()}) end)
  end)

  it("custom Functions", function()
    local Dirty = tg.autograd.Function{
      forward = function(ctx, a) ctx:mark_dirty(a); return a end,
      backward = function(_, g) return g end,
    }
    raises_here("a leaf Variable that requires grad has been used in an in-place operation.", function(mark)
      mark(); Dirty:apply(r) end)
    raises_here("a leaf Variable that requires grad has been used in an in-place operation.", function(mark)
      mark(); Dirty(r) end)
    local Save = tg.autograd.Function{
      forward = function(ctx, a) ctx:save_for_backward(5); return a * 2 end,
      backward = function(_, g) return g end,
    }
    raises_here("save_for_backward can only save tensors", function(mark) mark(); Save.apply(r) end)
  end)

  it("an error raised by user code propagates as it was raised", function()
    local Boom = tg.autograd.Function{
      forward = function() error("boom", 0) end,
      backward = function(_, g) return g end,
    }
    local ok, err = pcall(Boom.apply, r)
    assert.is_false(ok)
    assert.are.equal("boom", err)
    local y = r * 2
    y:register_hook(function() error({code = 7}) end)
    ok, err = pcall(function() tg.autograd.grad(y:sum(), r) end)
    assert.is_false(ok)
    assert.are.same({code = 7}, err)
  end)

  it("einsum", function()
    raises_here("einsum(): subscript j has size 4 for operand 2 which does not broadcast with previously seen size 3", function(mark)
      mark(); tg.einsum("ij,jk->ik", tg.zeros(2, 3), tg.zeros(4, 5)) end)
    raises_here("einsum(): the number of subscripts in the equation (3) does not match the number of dimensions (2)", function(mark)
      mark(); tg.einsum("ijk->i", x) end)
    raises_here("einsum(): output subscript k does not appear", function(mark)
      mark(); tg.einsum("ij->k", x) end)
    raises_here("einsum(): operand 1 is not a Tensor", function(mark) mark(); tg.einsum("i", 5) end)
  end)

  it("autograd.functional and gradcheck", function()
    raises_here("inputs[1] is not a Tensor", function(mark)
      mark(); tg.autograd.functional.jacobian(function(a) return a end, {5}) end)
    raises_here("The function given to hessian should return a single Tensor with a single element", function(mark)
      mark(); tg.autograd.functional.hessian(function(a) return a end, tg.zeros(2)) end)
    raises_here("The vector v can only be nil if the input to the user-provided function is a single Tensor with a single element", function(mark)
      mark(); tg.autograd.functional.hvp(function(a) return a:sum() end, tg.zeros(2)) end)
    raises_here("gradcheck expects at least one input tensor to require gradient", function(mark)
      mark(); tg.autograd.gradcheck(function(a) return a end, {x}) end)
    local bad = tg.autograd.Function{
      forward = function(_, a) return a * 2 end,
      backward = function(_, g) return g end,   -- wrong: should be 2 * g
    }
    local d = tg.zeros(2, {dtype = tg.float64}):requires_grad_(true)
    raises_here("gradcheck failed: Jacobian mismatch", function(mark)
      mark(); tg.autograd.gradcheck(bad, {d}) end)
    raises_here("gradgradcheck expects at least one input tensor to require gradient", function(mark)
      mark(); tg.autograd.gradgradcheck(function(a) return a end, {x}) end)
  end)
end)

describe("error wording as PyTorch's", function()
  it("permute, view", function()
    local x3 = tg.zeros(2, 3, 4)
    raises_here("permute(): duplicate dims are not allowed.", function(mark) mark(); x3:permute(1, 1, 2) end)
    raises_here("cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension size -1 can be any value and is ambiguous",
      function(mark) mark(); tg.zeros(0, 3):view(-1, 0) end)
    raises_here("shape '[-1, 0]' is invalid for input of size 6", function(mark) mark(); tg.zeros(2, 3):view(-1, 0) end)
  end)

  it("coroutine.yield in a hook or a custom Function says why it fails", function()
    local a = tg.ones(2):requires_grad_(true)
    local b = a * 2
    b:register_hook(function() coroutine.yield() end)
    local ok, err = coroutine.resume(coroutine.create(function() b:sum():backward() end))
    assert.is_false(ok)
    assert.matches("attempt to yield across a C-call boundary (a tensor hook cannot yield", err, 1, true)
    local G = tg.autograd.Function{
      forward = function(_, v) return v * 1 end,
      backward = function(_, g) coroutine.yield(); return g end,
    }
    ok, err = coroutine.resume(coroutine.create(function() G:apply(a):sum():backward() end))
    assert.is_false(ok)
    assert.matches("(a custom Function's backward cannot yield", err, 1, true)
  end)
end)
