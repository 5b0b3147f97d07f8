-- tgrad: the pure-Lua layer over the C core (printing, indexing, grad-mode
-- helpers, autograd utilities). Embedded in the library at build time; it
-- receives the core module table and returns the finished module.
local tg = ...
local Tensor = tg._Tensor        -- the method table of every tensor
local is_tensor = function(x) return getmetatable(x) == tg._Tensor_mt end
tg.is_tensor = is_tensor

tg.__version__ = "0.1.0"

-- printing and indexing live in their own files
require("tgrad.print")(tg)
require("tgrad.indexing")(tg)
require("tgrad.einsum")(tg)    -- tg.einsum (helper: shape)

---------------------------------------------------------------- grad mode
local set_grad_enabled = tg.set_grad_enabled

-- a guard whose closing restores the previous mode (for `local g <close> = ...`)
local function mode_guard(prev)
  return setmetatable({}, {__close = function() set_grad_enabled(prev) end,
                           __name = "tgrad.grad_mode_guard"})
end

-- run fn with the given mode, restoring the previous mode even on error
local function with_mode(enabled, fn, ...)
  local prev = set_grad_enabled(enabled)
  local res = table.pack(pcall(fn, ...))
  set_grad_enabled(prev)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- tg.no_grad(fn, ...) runs fn without tracking; tg.no_grad() returns a <close> guard.
function tg.no_grad(fn, ...)
  if fn == nil then return mode_guard(set_grad_enabled(false)) end
  return with_mode(false, fn, ...)
end

function tg.enable_grad(fn, ...)
  if fn == nil then return mode_guard(set_grad_enabled(true)) end
  return with_mode(true, fn, ...)
end

--- tg.set_grad_enabled(b) sets the mode and returns a guard restoring the old one.
function tg.set_grad_enabled(enabled)
  return mode_guard(set_grad_enabled(enabled and true or false))
end

--- tg.Variable(t, {requires_grad = b}): the old API, returns a tensor.
function tg.Variable(t, opts)
  assert(is_tensor(t), "Variable(): expected a Tensor")
  local v = t:detach()
  if opts and opts.requires_grad then v:requires_grad_(true) end
  return v
end

---------------------------------------------------------------- autograd
tg.autograd = require("tgrad.autograd")(tg)

---------------------------------------------------------------- nn
tg.nn = tg.nn or {}
tg.nn.functional = require("tgrad.nn.functional")(tg)
tg.F = tg.nn.functional

return tg
