-- ops_fixture_spec.lua: tgrad's ops against PyTorch reference values.
-- The fixtures (spec/fixtures/ops.lua) are written by tools/gen_fixtures.py;
-- each case evaluates a Lua expression over inputs a, b, c, compares every
-- output (shape, dtype, values within tol), then backpropagates
-- sum_k sum(out_k * grad_out_k) and compares each input's .grad; float64
-- differentiable cases also go through tg.autograd.gradcheck.
local tg = require "tgrad"

local function fixture_path()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*[/\\])") or "spec/"
  return dir .. "fixtures/ops.lua"
end

local fixtures = assert(dofile(fixture_path()))

---------------------------------------------------------------- helpers
local function nest(data, shape, dim, offset)
  -- flat row-major data -> nested Lua table of the given shape
  dim, offset = dim or 1, offset or 0
  local n = shape[dim]
  local stride = 1
  for d = dim + 1, #shape do stride = stride * shape[d] end
  local t = {}
  for i = 1, n do
    if dim == #shape then
      t[i] = data[offset + i]
    else
      t[i] = nest(data, shape, dim + 1, offset + (i - 1) * stride)
    end
  end
  return t
end

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

local function build(spec, requires_grad)
  local opts = {dtype = tg[spec.dtype]}
  if requires_grad then opts.requires_grad = true end
  if #spec.shape == 0 then return tg.tensor(spec.data[1], opts) end
  if numel(spec.shape) == 0 then return tg.zeros(spec.shape, opts) end
  return tg.tensor(nest(spec.data, spec.shape), opts)
end

local function flatten(x, acc)
  -- tolist() result (nested tables, or a plain value for 0-d) -> flat list
  acc = acc or {}
  if type(x) == "table" then
    for i = 1, #x do flatten(x[i], acc) end
  else
    acc[#acc + 1] = x
  end
  return acc
end

local function shape_str(s)
  local parts = {}
  for i, v in ipairs(s) do parts[i] = tostring(v) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function close(got, want, tol)
  if type(want) == "boolean" or math.type(want) == "integer" then return got == want end
  if type(got) ~= "number" then return false end
  if want ~= want then return got ~= got end               -- nan
  if want == math.huge or want == -math.huge then return got == want end
  return math.abs(got - want) <= tol + tol * math.abs(want)
end

-- compare tensor `t` with fixture tensor `want`; raise a readable error on mismatch
local function check_tensor(what, t, want, tol)
  assert(tg.is_tensor(t), what .. ": expected a tensor, got " .. type(t))
  if not same_shape(t.shape, want.shape) then
    error(("%s: shape %s, expected %s"):format(what, shape_str(t.shape), shape_str(want.shape)), 0)
  end
  if t.dtype ~= tg[want.dtype] then
    error(("%s: dtype %s, expected tgrad.%s"):format(what, tostring(t.dtype), want.dtype), 0)
  end
  local got = flatten(t:detach():tolist())
  if #got ~= #want.data then
    error(("%s: %d elements from tolist(), expected %d"):format(what, #got, #want.data), 0)
  end
  for i = 1, #want.data do
    if not close(got[i], want.data[i], tol) then
      error(("%s: element %d (flat, 1-based) is %s, expected %s (tol %g)")
        :format(what, i, tostring(got[i]), tostring(want.data[i]), tol), 0)
    end
  end
end

local function compile(case)
  local env = setmetatable({tg = tg, math = math}, {__index = _G})
  local chunk, err = load("local a, b, c = ...; return " .. case.expr, "=" .. case.name, "t", env)
  assert(chunk, err)
  return chunk
end

-- the results of expr as a list: several returns, or one returned list of tensors (chunk/split/unbind)
local function results(fn, ins)
  local r = table.pack(fn(table.unpack(ins, 1, #ins)))
  if r.n == 1 and type(r[1]) == "table" and not tg.is_tensor(r[1]) then
    local l = {}
    for i, v in ipairs(r[1]) do l[i] = v end
    return l, #l
  end
  return r, r.n
end

local function build_inputs(case)
  local ins = {}
  for i, spec in ipairs(case.inputs) do ins[i] = build(spec, spec.requires_grad) end
  return ins
end

---------------------------------------------------------------- the checks
local function run_forward_backward(case)
  local fn = compile(case)
  local ins = build_inputs(case)
  local outs, n = results(fn, ins)
  assert(n == #case.outputs, ("%d results, expected %d"):format(n, #case.outputs))
  for k, want in ipairs(case.outputs) do
    check_tensor(("output %d"):format(k), outs[k], want, case.tol)
  end
  if not case.grads then return end
  local loss
  for k, go in ipairs(case.grad_outs) do
    if go then
      local g = build(go, false)
      local term = (outs[k] * g):sum()
      loss = loss and loss + term or term
    end
  end
  loss:backward()
  for i, want in ipairs(case.grads) do
    local x = ins[i]
    if want then
      assert(x.grad ~= nil, ("input %d: .grad is nil after backward"):format(i))
      check_tensor(("grad of input %d"):format(i), x.grad, want, case.tol)
    elseif case.inputs[i].requires_grad and x.grad ~= nil then
      -- unreached by the graph in PyTorch (grad None): accept nil or all zeros
      for j, v in ipairs(flatten(x.grad:tolist())) do
        assert(v == 0, ("input %d: expected no gradient, .grad element %d is %s"):format(i, j, tostring(v)))
      end
    end
  end
end

local function run_gradcheck(case)
  local fn = compile(case)
  local ins = build_inputs(case)
  assert(tg.autograd.gradcheck(function(...) return fn(...) end, ins) == true)
end

describe("ops vs PyTorch fixtures", function()
  local issues, seen = {}, {}
  for _, case in ipairs(fixtures) do
    if not seen[case.issue] then seen[case.issue] = true; issues[#issues + 1] = case.issue end
  end
  table.sort(issues)
  for _, issue in ipairs(issues) do
    describe("issue " .. issue, function()
      for _, case in ipairs(fixtures) do
        if case.issue == issue then
          it(case.name .. ": " .. case.expr, function() run_forward_backward(case) end)
          if case.gradcheck then
            it(case.name .. " gradcheck", function() run_gradcheck(case) end)
          end
        end
      end
    end)
  end
end)
