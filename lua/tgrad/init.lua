-- tgrad: the pure-Lua layer over the C core (printing, indexing, grad-mode
-- helpers, autograd utilities). Embedded in the library at build time; it
-- receives the core module table and returns the finished module.
local tg = ...
local Tensor = tg._Tensor        -- the method table of every tensor
local is_tensor = function(x) return getmetatable(x) == tg._Tensor_mt end
tg.is_tensor = is_tensor

tg.__version__ = "0.1.0"

---------------------------------------------------------------- error positions
-- An error for bad input names the user's file:line. A C function called from
-- tgrad's own Lua code names that code instead ("[tgrad] tgrad.indexing:78: "),
-- and one called from C (t[k] = v, t:clamp_(...)) names nothing; so the Lua
-- entry points pcall their work and re-raise here. The work itself raises with
-- plain error(msg) (an internal position, replaced here).
local INTERNAL_POS = "^%[tgrad%] [%w_.]+:%d+: "

--- tg._rethrow(e, level [, keep_unplaced]) raises e as error(e, level) would in
-- the calling function, for a string e that names a position inside tgrad (the
-- position is replaced) or none (unless keep_unplaced: use it where user code
-- ran, whose error(msg, 0) must stay as raised). Anything else (an error the
-- user's own code raised, with its own position, or a non-string) is re-raised unchanged.
function tg._rethrow(e, level, keep_unplaced)
  if type(e) == "string" then
    local msg, n = e:gsub(INTERNAL_POS, "", 1)
    if n > 0 or (not keep_unplaced and not msg:find("^[^\n]-:%d+: ")) then error(msg, level + 1) end
  end
  error(e, 0)
end

--- tg._entry(work [, keep_unplaced]): an entry point that runs work(...) and
-- re-raises its errors at the entry point's caller (tg._rethrow), results as work's
-- (tiny: the results pass through as varargs, no table per call; `finish` is
-- tail-called, so level 2 of its _rethrow is still the entry point's caller)
function tg._entry(work, keep_unplaced)
  local function finish(ok, ...)
    if ok then return ... end
    tg._rethrow((...), 2, keep_unplaced)
  end
  return function(...)
    return finish(pcall(work, ...))
  end
end

-- printing and indexing live in their own files
require("tgrad.print")(tg)
require("tgrad.indexing")(tg)
require("tgrad.einsum")(tg)    -- tg.einsum (helper: shape)

---------------------------------------------------------------- grad mode
local set_grad_enabled = tg.set_grad_enabled

-- a guard whose closing restores the previous mode (for `local g <close> = ...`)
-- (tiny: two shared guards, one per previous mode, so a guard allocates nothing)
local GUARDS = {}
for _, prev in ipairs({true, false}) do
  GUARDS[prev] = setmetatable({}, {__close = function() set_grad_enabled(prev) end,
                                   __name = "tgrad.grad_mode_guard"})
end
local function mode_guard(prev)
  return GUARDS[prev and true or false]
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
local function check_callable(fn, name)
  local mt = getmetatable(fn)
  if type(fn) ~= "function" and not (type(mt) == "table" and mt.__call) then
    error(("%s() expects a function (or nothing, for a <close> guard), got %s"):format(name, type(fn)), 3)
  end
end

function tg.no_grad(fn, ...)
  if fn == nil then return mode_guard(set_grad_enabled(false)) end
  check_callable(fn, "no_grad")
  return with_mode(false, fn, ...)
end

function tg.enable_grad(fn, ...)
  if fn == nil then return mode_guard(set_grad_enabled(true)) end
  check_callable(fn, "enable_grad")
  return with_mode(true, fn, ...)
end

--- tg.set_grad_enabled(b) sets the mode and returns a guard restoring the old one.
function tg.set_grad_enabled(enabled)
  return mode_guard(set_grad_enabled(enabled and true or false))
end

--- tg.Variable(t, {requires_grad = b}): the old API, returns a tensor.
function tg.Variable(t, opts)
  if not is_tensor(t) then error("Variable data has to be a tensor, but got " .. type(t), 2) end
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
require("tgrad.nn")(tg)        -- tg.nn.Module, layers, init, utils (helper: nnlua)

---------------------------------------------------------------- files and pictures (issue 8)
require("tgrad.serialize")(tg)          -- tg.save, tg.load (safetensors)
tg.viz = require("tgrad.viz")(tg)       -- tg.viz.dot, render, plot
tg.utils = tg.utils or {}
tg.utils.data = require("tgrad.utils.data")(tg)
tg.utils.progress = require("tgrad.utils.progress")(tg)
---------------------------------------------------------------- optim (helper optim)
tg.optim = require("tgrad.optim")(tg)
tg.cuda = require("tgrad.cuda")(tg)      -- cuda: tg.cuda.* (lua/tgrad/cuda.lua)

---------------------------------------------------------------- models
tg.models = require("tgrad.models")(tg)   -- resnet18/34/50 (needs tg.nn)

return tg
