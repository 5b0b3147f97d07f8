-- tgrad.autograd.function: custom differentiable operations written in Lua.
--
--   local Exp = tg.autograd.Function{
--     name = "Exp",                                   -- the node prints as <ExpBackward>
--     forward = function(ctx, x) local y = x:exp(); ctx:save_for_backward(y); return y end,
--     backward = function(ctx, gy) local y = ctx.saved_tensors[1]; return gy * y end,
--   }
--   local y = Exp:apply(x)                            -- or Exp.apply(x), or Exp(x)
--
-- forward runs without recording; backward gets one gradient per forward
-- output and returns one per forward argument (nil for non-tensors, or for
-- inputs that need none). The node and its state live in C (function.c).
return function(tg)
  local Ctx = {}
  Ctx.__index = Ctx
  Ctx.__name = "tgrad.FunctionCtx"

  --- ctx:save_for_backward(...): tensors (or nil) for backward, read back as ctx.saved_tensors
  function Ctx:save_for_backward(...)
    rawset(self, "_to_save", table.pack(...))
  end

  --- ctx:mark_dirty(...): inputs the forward modified in place (and returns)
  function Ctx:mark_dirty(...)
    rawset(self, "_dirty", table.pack(...))
  end

  --- ctx:mark_non_differentiable(...): outputs that get no grad_fn
  function Ctx:mark_non_differentiable(...)
    rawset(self, "_non_diff", table.pack(...))
  end

  -- tg._fn_apply from a Lua frame, so that its errors name a line (this file's,
  -- replaced by apply with the caller's)
  local function run_apply(...)
    local r = table.pack(tg._fn_apply(...))
    return r
  end

  local FunctionMT = {}
  FunctionMT.__index = FunctionMT
  FunctionMT.__name = "tgrad.autograd.Function"
  FunctionMT.__call = function(F, ...) return F.apply(...) end
  FunctionMT.__tostring = function(F) return "<Function " .. (F.name or "CustomFunction") .. ">" end

  local function Function(def)
    if type(def) ~= "table" then error("autograd.Function expects a table {forward = f, backward = g}", 2) end
    if type(def.forward) ~= "function" then error("autograd.Function: 'forward' must be a function", 2) end
    if type(def.backward) ~= "function" then
      error("autograd.Function: 'backward' must be a function (You must implement the backward function for custom autograd.Function.)", 2)
    end
    local F = {}
    for k, v in pairs(def) do F[k] = v end
    setmetatable(F, FunctionMT)
    --- F:apply(...) / F.apply(...)
    -- the core's errors (mark_dirty on a leaf ...) at the caller's line; an error
    -- raised by forward propagates as it was raised
    F.apply = function(first, ...)
      local ok, r
      if first == F then
        ok, r = pcall(run_apply, F, setmetatable({}, Ctx), ...)
      else
        ok, r = pcall(run_apply, F, setmetatable({}, Ctx), first, ...)
      end
      if not ok then tg._rethrow(r, 2, true) end
      return table.unpack(r, 1, r.n)
    end
    return F
  end

  return Function, Ctx
end
