-- support/fixtures.lua: the runner shared by the specs that check tgrad against
-- PyTorch fixtures (spec/fixtures/<name>.lua, written by tools/gen_*_fixtures.py).
-- A case evaluates a Lua expression over inputs a, b, c, compares every output
-- (shape, dtype, values within tol), then backpropagates
-- sum_k sum(out_k * grad_out_k) and compares each input's .grad; cases marked
-- gradcheck also go through tg.autograd.gradcheck.
local tg = require "tgrad"
-- busted's assert lives in the spec files' environment, not in _G
local luassert = require "luassert"

local M = {}

-- spec/fixtures/<name>.lua, found next to this file's directory
function M.load(name)
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*[/\\])") or "spec/support/"
  return assert(dofile(dir .. "../fixtures/" .. name .. ".lua"))
end

-- flat row-major data -> nested Lua table of the given shape
function M.nest(data, shape, dim, offset)
  dim, offset = dim or 1, offset or 0
  local n = shape[dim]
  local stride = 1
  for d = dim + 1, #shape do stride = stride * shape[d] end
  local t = {}
  for i = 1, n do
    if dim == #shape then
      t[i] = data[offset + i]
    else
      t[i] = M.nest(data, shape, dim + 1, offset + (i - 1) * stride)
    end
  end
  return t
end

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

-- a tensor from a fixture tensor {shape, dtype, data}
function M.build(spec, requires_grad)
  local opts = {dtype = tg[spec.dtype]}
  if requires_grad then opts.requires_grad = true end
  if #spec.shape == 0 then return tg.tensor(spec.data[1], opts) end
  if numel(spec.shape) == 0 then return tg.zeros(spec.shape, opts) end
  return tg.tensor(M.nest(spec.data, spec.shape), opts)
end

-- tolist() result (nested tables, or a plain value for 0-d) -> flat list
function M.flatten(x, acc)
  acc = acc or {}
  if type(x) == "table" then
    for i = 1, #x do M.flatten(x[i], acc) end
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

-- booleans and integers exactly, nan matches nan, infinities exactly, else within tol (absolute + relative)
function M.close(got, want, tol)
  if type(want) == "boolean" or math.type(want) == "integer" then return got == want end
  if type(got) ~= "number" then return false end
  if want ~= want then return got ~= got end               -- nan
  if want == math.huge or want == -math.huge then return got == want end
  return math.abs(got - want) <= tol + tol * math.abs(want)
end

-- compare tensor `t` with fixture tensor `want`; raise a readable error on mismatch
function M.check_tensor(what, t, want, tol)
  assert(tg.is_tensor(t), what .. ": expected a tensor, got " .. type(t))
  if not same_shape(t.shape, want.shape) then
    error(("%s: shape %s, expected %s"):format(what, shape_str(t.shape), shape_str(want.shape)), 0)
  end
  if t.dtype ~= tg[want.dtype] then
    error(("%s: dtype %s, expected tgrad.%s"):format(what, tostring(t.dtype), want.dtype), 0)
  end
  local got = M.flatten(t:detach():tolist())
  if #got ~= #want.data then
    error(("%s: %d elements from tolist(), expected %d"):format(what, #got, #want.data), 0)
  end
  for i = 1, #want.data do
    if not M.close(got[i], want.data[i], tol) then
      error(("%s: element %d (flat, 1-based) is %s, expected %s (tol %g)")
        :format(what, i, tostring(got[i]), tostring(want.data[i]), tol), 0)
    end
  end
end

-- case.expr as a function of a, b, c (tg and math in scope)
function M.compile(case)
  local env = setmetatable({tg = tg, math = math}, {__index = _G})
  local chunk, err = load("local a, b, c = ...; return " .. case.expr, "=" .. case.name, "t", env)
  assert(chunk, err)
  return chunk
end

-- the results of expr as a list: several returns, or one returned list of tensors (chunk/split/unbind)
function M.results(fn, ins)
  local r = table.pack(fn(table.unpack(ins, 1, #ins)))
  if r.n == 1 and type(r[1]) == "table" and not tg.is_tensor(r[1]) then
    local l = {}
    for i, v in ipairs(r[1]) do l[i] = v end
    return l, #l
  end
  return r, r.n
end

function M.build_inputs(case)
  local ins = {}
  for i, spec in ipairs(case.inputs) do ins[i] = M.build(spec, spec.requires_grad) end
  return ins
end

-- outputs, then the gradients of sum_k sum(out_k * grad_out_k). opts:
--   check_grad_fn  cases with check_grad_fn compare outs[1].grad_fn.name with case.grad_fn
--   unreached      inputs that require grad but get none in PyTorch (grads[i] false)
--                  must end with .grad nil or all zeros
function M.run_forward_backward(case, opts)
  opts = opts or {}
  local fn = M.compile(case)
  local ins = M.build_inputs(case)
  local outs, n = M.results(fn, ins)
  assert(n == #case.outputs, ("%d results, expected %d"):format(n, #case.outputs))
  for k, want in ipairs(case.outputs) do
    M.check_tensor(("output %d"):format(k), outs[k], want, case.tol)
  end
  if opts.check_grad_fn and case.check_grad_fn and case.grad_fn then
    luassert.are.equal(case.grad_fn, outs[1].grad_fn and outs[1].grad_fn.name)
  end
  if not case.grads then return end
  local loss
  for k, go in ipairs(case.grad_outs) do
    if go then
      local term = (outs[k] * M.build(go, false)):sum()
      loss = loss and loss + term or term
    end
  end
  loss:backward()
  for i, want in ipairs(case.grads) do
    local x = ins[i]
    if want then
      assert(x.grad ~= nil, ("input %d: .grad is nil after backward"):format(i))
      M.check_tensor(("grad of input %d"):format(i), x.grad, want, case.tol)
    elseif opts.unreached and case.inputs[i].requires_grad and x.grad ~= nil then
      -- unreached by the graph in PyTorch (grad None): accept nil or all zeros
      for j, v in ipairs(M.flatten(x.grad:tolist())) do
        assert(v == 0, ("input %d: expected no gradient, .grad element %d is %s"):format(i, j, tostring(v)))
      end
    end
  end
end

function M.run_gradcheck(case)
  local fn = M.compile(case)
  local ins = M.build_inputs(case)
  assert(tg.autograd.gradcheck(function(...) return fn(...) end, ins) == true)
end

-- one test per case ("name: expr") and one per gradcheck case ("name gradcheck"),
-- declared with the spec's `it` (busted's functions are not globals of modules);
-- opts go to run_forward_backward; filter(case) picks the cases (default: all)
function M.add_cases(it, cases, opts, filter)
  for _, case in ipairs(cases) do
    if not filter or filter(case) then
      it(case.name .. ": " .. case.expr, function() M.run_forward_backward(case, opts) end)
      if case.gradcheck then
        it(case.name .. " gradcheck", function() M.run_gradcheck(case) end)
      end
    end
  end
end

return M
