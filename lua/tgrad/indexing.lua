-- Indexing with Lua keys, Torch7 style:
--   t[i]              select along the first dim (1-based, negative from the end)
--   t[{i, j}]         one index per dim
--   t[{{1, 3}, {}, 2}] {a, b} an inclusive range, {} the whole dim, a number selects
--   t[k] = v          writes v (number or tensor) into the view t[k], in place
return function(tg)
  local Tensor = tg._Tensor

  local function view_of(t, key)
    local kt = type(key)
    if kt == "number" then
      if math.type(key) ~= "integer" then error("index must be an integer, got " .. key, 3) end
      return t:select(1, key)
    elseif kt == "table" and not tg.is_tensor(key) then
      local v, d = t, 1
      for _, k in ipairs(key) do
        if type(k) == "number" then
          v = v:select(d, k)              -- selecting removes the dim: d stays
        elseif type(k) == "table" then
          if #k == 0 then
            d = d + 1
          else
            local n = v:size(d)
            local a, b = k[1], k[2] or k[1]
            if a < 0 then a = a + n + 1 end
            if b < 0 then b = b + n + 1 end
            if a < 1 or a > n or b < a - 1 or b > n then
              error(("index range {%d, %d} is out of bounds for dimension %d with size %d"):format(k[1], k[2] or k[1], d, n), 3)
            end
            v = v:narrow(d, a, b - a + 1)
            d = d + 1
          end
        else
          error("index entries must be numbers or tables, got " .. type(k), 3)
        end
      end
      return v
    elseif tg.is_tensor(key) and Tensor.__index_tensor then
      return Tensor.__index_tensor(t, key)
    end
    error("a Tensor cannot be indexed with a " .. kt, 3)
  end

  Tensor.__index_key = view_of

  Tensor.__newindex_key = function(t, key, value)
    if t.is_leaf and t.requires_grad and tg.is_grad_enabled() then
      error("a leaf Variable that requires grad is being used in an in-place operation.", 2)
    end
    local v = view_of(t, key)
    if tg.is_tensor(value) then v:copy_(value) else v:fill_(value) end
  end
end
