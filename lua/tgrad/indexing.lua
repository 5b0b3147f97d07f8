-- Indexing with Lua keys, Torch7 style (all indices 1-based, negative from the end):
--   t[i]                 select along the first dim (a view)
--   t[{i, j}]            one entry per dim; a number selects (the dim goes away)
--   t[{{1, 3}, {}, 2}]   {a, b} an inclusive range, {a} the range a..a (dim kept), {} the whole dim
--   t[idx]               idx an int64 tensor: rows idx along the first dim (a copy, index_select);
--                        a k-d idx gives shape idx.shape .. t.shape[2..]
--   t[mask]              mask a bool tensor: the shape of t (masked_select, 1-D result), or of
--                        t's leading dims (selects those positions, keeps the trailing dims)
--   t[key] = v           writes v (number or tensor, broadcast) into t at key, in place
--                        (a leaf that requires grad refuses, as PyTorch)
--
-- Errors: the work below raises with plain error(msg); the two entry points
-- (__index_key, __newindex_key, called from the C metamethods) re-raise at the
-- user's line (tg._rethrow).
return function(tg)
  local Tensor = tg._Tensor
  local is_tensor = tg.is_tensor
  local rethrow = tg._rethrow

  local function shape_str(s)
    local p = {}
    for i, v in ipairs(s) do p[i] = tostring(v) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  local function range_entry(v, d, k, od)
    local n = v:size(d)
    local a, b = k[1], k[2] or k[1]
    if math.type(a) ~= "integer" or math.type(b) ~= "integer" then
      error("a range index {a, b} must hold integers")
    end
    local a0, b0 = a, b
    if a < 0 then a = a + n + 1 end
    if b < 0 then b = b + n + 1 end
    if a < 1 or a > n + 1 or b < a - 1 or b > n then
      error(("index range {%d, %d} is out of bounds for dimension %d with size %d"):format(a0, b0, od, n))
    end
    return v:narrow(d, a, b - a + 1)
  end

  -- a bool key over the leading dims of t: flat positions into t flattened over those dims
  local function mask_view(t, mask)
    local ms, ts = mask.shape, t.shape
    if #ms > #ts then
      error(("too many indices for tensor of dimension %d (got a mask of dimension %d)"):format(#ts, #ms))
    end
    for i = 1, #ms do
      if ms[i] ~= ts[i] then
        error(("The shape of the mask %s at index %d does not match the shape of the indexed tensor %s at index %d")
          :format(shape_str(ms), i, shape_str(ts), i))
      end
    end
    return ms
  end

  local function tensor_key(t, key)
    if key.dtype == tg.int64 then
      if t:dim() == 0 then error("invalid index of a 0-dim tensor with an index tensor") end
      if key:dim() == 0 then return t:select(1, key:item()) end
      if key:dim() == 1 then return t:index_select(1, key) end
      local r = t:index_select(1, key:reshape(-1))
      local shape = key.shape
      local ts = t.shape
      for i = 2, #ts do shape[#shape + 1] = ts[i] end
      return r:reshape(shape)
    elseif key.dtype == tg.bool then
      if key:dim() == t:dim() then
        mask_view(t, key)
        return t:masked_select(key)
      end
      local ms = mask_view(t, key)
      local flat = #ms == 0 and t:unsqueeze(1) or t:flatten(1, #ms)
      local pos = tg._mask_positions(key:reshape(-1))
      return flat:index_select(1, pos)
    end
    error("tensors used as indices must be int64 (long) or bool tensors, got " .. key.dtype.name)
  end

  -- v:select(d, i) for the number key entry i that indexes dim od of the indexed tensor
  local function select_entry(v, d, i, od)
    if math.type(i) ~= "integer" then error("index must be an integer, got " .. i) end
    if v:dim() == 0 then error("invalid index of a 0-dim tensor.") end
    local n = v:size(d)
    if i == 0 or i > n or i < -n then
      error(("index %d is out of bounds for dimension %d with size %d"):format(i, od, n))
    end
    return v:select(d, i)
  end

  local function view_of(t, key)
    local kt = type(key)
    if kt == "number" then
      return select_entry(t, 1, key, 1)
    elseif is_tensor(key) then
      return tensor_key(t, key)
    elseif kt == "table" then
      local v, d = t, 1
      for od, k in ipairs(key) do
        if d > v:dim() + 1 or (d > v:dim() and type(k) == "number") then
          error(("too many indices for tensor of dimension %d"):format(t:dim()))
        end
        if type(k) == "number" then
          v = select_entry(v, d, k, od)    -- selecting removes the dim: d stays
        elseif type(k) == "table" and not is_tensor(k) then
          if #k == 0 then
            if d > v:dim() then error(("too many indices for tensor of dimension %d"):format(t:dim())) end
          else
            v = range_entry(v, d, k, od)
          end
          d = d + 1
        else
          error("index entries must be integers or {a, b} ranges, got " .. (is_tensor(k) and "Tensor" or type(k)))
        end
      end
      return v
    end
    error("a Tensor cannot be indexed with a " .. kt)
  end

  -- t[key] (from the C __index: the user's line is level 3)
  Tensor.__index_key = function(t, key)
    local ok, r = pcall(view_of, t, key)
    if not ok then rethrow(r, 3) end
    return r
  end

  -- as PyTorch's setitem: a value with extra leading size-1 dims fits
  -- (t[i] = tg.tensor({5}) into a 0-d slot)
  local function strip_leading_ones(value, ndim)
    while value:dim() > ndim and value:size(1) == 1 do value = value:squeeze(1) end
    return value
  end

  -- t[idx] = v / t[mask] = v: computed out of place, then copied into t (in place)
  local function assign_tensor_key(t, key, value)
    if key.dtype == tg.bool then
      mask_view(t, key)
      if not is_tensor(value) or value:numel() == 1 then
        local v = is_tensor(value) and value:reshape({}) or value
        local m = key
        if key:dim() < t:dim() then -- a mask of the leading dims covers the trailing ones
          local s = key.shape
          for _ = key:dim() + 1, t:dim() do s[#s + 1] = 1 end
          m = key:reshape(s)
        end
        t:copy_(t:masked_fill(m, v))
        return
      end
      local ms = key.shape
      local flat = t:reshape(#ms == 0 and {1, -1} or {-1, table.unpack(t.shape, #ms + 1)})
      local pos = tg._mask_positions(key:reshape(-1))
      local idx_shape, src = {pos:numel()}, value:to(t.dtype)
      for i = 2, flat:dim() do idx_shape[i] = 1 end
      local full = {pos:numel(), table.unpack(flat.shape, 2)}
      local idx = pos:reshape(idx_shape):expand(full)
      src = strip_leading_ones(src, #full):expand(full)
      t:copy_(flat:scatter(1, idx, src):reshape(t.shape))
      return
    elseif key.dtype == tg.int64 then
      local k = key:reshape(-1)
      local full = t.shape
      full[1] = k:numel()
      local idx_shape = {k:numel()}
      for i = 2, t:dim() do idx_shape[i] = 1 end
      local idx = k:reshape(idx_shape):expand(full)
      if is_tensor(value) then
        t:copy_(t:scatter(1, idx, strip_leading_ones(value:to(t.dtype), #full):expand(full)))
      else
        t:copy_(t:scatter(1, idx, value))
      end
      return
    end
    error("tensors used as indices must be int64 (long) or bool tensors, got " .. key.dtype.name)
  end

  -- value must broadcast to shape (PyTorch's setitem text; a value of more dims
  -- than the slot is left to copy_'s message)
  local function check_fits(value, shape)
    local vs = value.shape
    if #vs > #shape then return end
    for i = 1, #vs do
      local d = #shape - #vs + i
      if vs[i] ~= 1 and vs[i] ~= shape[d] then
        error(("The expanded size of the tensor (%d) must match the existing size (%d) at non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s")
          :format(shape[d], vs[i], d, shape_str(shape), shape_str(vs)))
      end
    end
  end

  local function assign(t, key, value)
    if t.is_leaf and t.requires_grad and tg.is_grad_enabled() then
      error(is_tensor(key) and "a leaf Variable that requires grad is being used in an in-place operation."
        or "a view of a leaf Variable that requires grad is being used in an in-place operation.")
    end
    local vt = type(value)
    if vt ~= "number" and vt ~= "boolean" and not is_tensor(value) then
      error(("can't assign a %s to a Tensor"):format(vt))
    end
    if is_tensor(key) then return assign_tensor_key(t, key, value) end
    local v = view_of(t, key)
    if is_tensor(value) then
      value = strip_leading_ones(value, v:dim())
      check_fits(value, v.shape)
      v:copy_(value)
    else
      v:fill_(value)
    end
  end

  -- t[key] = value (from the C __newindex: the user's line is level 3)
  Tensor.__newindex_key = function(t, key, value)
    local ok, e = pcall(assign, t, key, value)
    if not ok then rethrow(e, 3) end
  end
end
