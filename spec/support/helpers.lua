-- support/helpers.lua: small assertions shared by the specs.
local tg = require "tgrad"
-- busted's assert lives in the spec files' environment, not in _G
local luassert = require "luassert"

local M = {}

-- a tensor, or a number, or a (nested) list of numbers -> flat list of numbers
function M.flat(t)
  if type(t) == "number" then return {t} end
  if tg.is_tensor(t) then return t:_flat() end
  local out = {}
  local function walk(v) if type(v) == "table" then for _, w in ipairs(v) do walk(w) end else out[#out + 1] = v end end
  walk(t)
  return out
end

-- same element count, and each |got - expected| <= tol * (1 + |expected|) (tol 1e-9 by default)
function M.assert_close(got, expected, tol)
  tol = tol or 1e-9
  local g, e = M.flat(got), M.flat(expected)
  luassert.are.equal(#e, #g, "element count")
  for i = 1, #e do
    if math.abs(g[i] - e[i]) > tol * (1 + math.abs(e[i])) then
      error(("element %d: got %.12g, expected %.12g"):format(i, g[i], e[i]), 2)
    end
  end
end

-- fn(...) raises an error whose message contains `pattern` (plain text)
function M.errors(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error containing: " .. pattern)
  assert(tostring(err):find(pattern, 1, true), ("error %q does not contain %q"):format(tostring(err), pattern))
end

-- a float64 tensor from a list; requires grad unless rg is false
-- bit-for-bit equality of two tensors: shape, and each element (nan equals nan); dtype too unless any_dtype
function M.assert_same_bits(a, b, any_dtype)
  luassert.are.same(a.shape, b.shape)
  if not any_dtype then luassert.are.equal(a.dtype, b.dtype) end
  local x, y = a:_flat(), b:_flat()
  for i = 1, #x do
    if x[i] ~= y[i] and not (x[i] ~= x[i] and y[i] ~= y[i]) then
      error(("element %d differs: %.17g vs %.17g"):format(i, x[i], y[i]), 2)
    end
  end
end

function M.d64(list, rg) return tg.tensor(list, {dtype = tg.float64, requires_grad = rg ~= false}) end

return M
