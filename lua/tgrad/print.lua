-- tostring(t) as PyTorch prints tensors (torch/_tensor_str.py): 4 decimals,
-- integer form "14.", scientific when the range asks for it, "..." past 1000
-- elements, rows wrapped at 80 columns, then dtype/grad_fn/requires_grad.
return function(tg)
  local Tensor, mt = tg._Tensor, tg._Tensor_mt
  local THRESHOLD, EDGE, LINEWIDTH = 1000, 3, 80

  local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

  -- one formatter for every element, chosen from the values shown
  local function formatter(vals, dtype)
    if dtype == tg.bool then
      return function(v) return tostring(v) end, 5
    end
    if dtype == tg.int64 then
      local w = 1
      for _, v in ipairs(vals) do w = math.max(w, #string.format("%d", v)) end
      return function(v) return string.format("%d", v) end, w
    end
    local finite, int_mode = {}, true
    for _, v in ipairs(vals) do
      if is_finite(v) then
        finite[#finite + 1] = v
        if v ~= math.floor(v) then int_mode = false end
      end
    end
    local fmt
    if #finite == 0 then
      fmt = function(v) return string.format("%.4f", v) end
    else
      local amax, amin = 0, math.huge
      for _, v in ipairs(finite) do
        local a = math.abs(v)
        if a ~= 0 then amax = math.max(amax, a); amin = math.min(amin, a) end
      end
      if amin == math.huge then amin = 0 end
      if int_mode then
        if amax > 1e8 then fmt = function(v) return string.format("%.4e", v) end
        else fmt = function(v) return string.format("%.0f.", v) end end
      else
        local sci = amin > 0 and (amax / amin > 1000 or amax > 1e8 or amin < 1e-4)
        if sci then fmt = function(v) return string.format("%.4e", v) end
        else fmt = function(v) return string.format("%.4f", v) end end
      end
    end
    local function f(v)
      if v ~= v then return "nan" elseif v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
      local s = fmt(v)
      if s == "-0." then s = "-0." end
      return s
    end
    local w = 1
    for _, v in ipairs(vals) do w = math.max(w, #f(v)) end
    return f, w
  end

  -- values kept for display (all, or the edges of each dim when summarised)
  local function shown_values(t, summarize)
    if not summarize then return t:_flat() end
    local out = {}
    local function rec(x)
      if x:dim() == 0 then out[#out + 1] = x:item(); return end
      local n = x:size(1)
      if n > 2 * EDGE then
        for i = 1, EDGE do rec(x[i]) end
        for i = n - EDGE + 1, n do rec(x[i]) end
      else
        for i = 1, n do rec(x[i]) end
      end
    end
    rec(t)
    return out
  end

  local function body(t, indent, summarize, fmt, width)
    local function rec(x, ind)
      if x:dim() == 0 then
        local s = fmt(x:item())
        return string.rep(" ", width - #s) .. s
      end
      local n = x:size(1)
      local idx = {}
      if summarize and n > 2 * EDGE then
        for i = 1, EDGE do idx[#idx + 1] = i end
        idx[#idx + 1] = false
        for i = n - EDGE + 1, n do idx[#idx + 1] = i end
      else
        for i = 1, n do idx[#idx + 1] = i end
      end
      if x:dim() == 1 then
        local items = {}
        for _, i in ipairs(idx) do items[#items + 1] = i and rec(x[i], ind + 1) or "..." end
        -- wrap long rows
        local per_line = math.max(1, math.floor((LINEWIDTH - ind) / (width + 2)))
        local lines = {}
        for k = 1, #items, per_line do
          lines[#lines + 1] = table.concat(items, ", ", k, math.min(k + per_line - 1, #items))
        end
        return "[" .. table.concat(lines, ",\n" .. string.rep(" ", ind + 1)) .. "]"
      end
      local parts = {}
      for _, i in ipairs(idx) do parts[#parts + 1] = i and rec(x[i], ind + 1) or "..." end
      local sep = "," .. string.rep("\n", x:dim() - 1) .. string.rep(" ", ind + 1)
      return "[" .. table.concat(parts, sep) .. "]"
    end
    return rec(t, indent)
  end

  local function tensor_str(t)
    local prefix = "tensor("
    local suffixes = {}
    local dtype = t.dtype
    local s
    if t:numel() == 0 then
      s = "[]"
      if not (t:dim() == 1 and t:size(1) == 0) then
        suffixes[#suffixes + 1] = "size=(" .. table.concat(t.shape, ", ") .. (t:dim() == 1 and ",)" or ")")
      end
    else
      local summarize = t:numel() > THRESHOLD
      local plain = tg.no_grad(function() return t:detach() end)
      local vals = shown_values(plain, summarize)
      local fmt, width = formatter(vals, dtype)
      s = body(plain, #prefix, summarize, fmt, width)
    end
    if dtype ~= tg.float32 and dtype ~= tg.int64 and dtype ~= tg.bool then
      suffixes[#suffixes + 1] = "dtype=" .. tostring(dtype)
    elseif t:numel() == 0 and dtype ~= tg.float32 then
      suffixes[#suffixes + 1] = "dtype=" .. tostring(dtype)
    end
    if t.device ~= "cpu" then suffixes[#suffixes + 1] = "device='" .. t.device .. "'" end
    local ok_fn, fn = pcall(function() return t.grad_fn end)
    if not ok_fn then
      suffixes[#suffixes + 1] = "grad_fn=<Invalid>" -- a no_grad view whose base was written in place since
    elseif fn then
      suffixes[#suffixes + 1] = "grad_fn=" .. tostring(fn)
    elseif t.requires_grad then
      suffixes[#suffixes + 1] = "requires_grad=true"
    end
    local out = prefix .. s
    for _, suf in ipairs(suffixes) do out = out .. ", " .. suf end
    return out .. ")"
  end

  mt.__tostring = tensor_str
  mt.__name = "tgrad.Tensor"
end
