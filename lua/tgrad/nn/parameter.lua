-- tgrad.nn.parameter: tg.nn.Parameter(t [, requires_grad]), a leaf tensor that
-- a Module registers as a parameter when it is assigned to a field.
-- A Parameter is an ordinary tgrad tensor (sharing t's storage, as PyTorch's);
-- what makes it one is its entry in a weak-keyed set, so tg.nn.is_parameter(x)
-- and printing ("Parameter containing:\n tensor(...)") can tell.
return function(tg, nn)
  local is_tensor = tg.is_tensor
  local params = setmetatable({}, {__mode = "k"})

  --- tg.nn.Parameter([data [, requires_grad = true]]): data detached (same storage),
  -- a leaf that requires grad unless requires_grad is false. No data: an empty tensor.
  function nn.Parameter(data, requires_grad)
    if type(data) == "table" and not is_tensor(data) and requires_grad == nil then
      -- Parameter(t, {requires_grad = false}) as well
      error("Parameter(data, requires_grad): data must be a tensor, got a table", 2)
    end
    if data == nil then data = tg.empty(0) end
    if not is_tensor(data) then
      error(("Parameter(): data must be a tensor, got %s"):format(type(data)), 2)
    end
    if type(requires_grad) == "table" then requires_grad = requires_grad.requires_grad end
    if requires_grad == nil then requires_grad = true end
    local p = data:detach()
    if requires_grad then
      local ok, err = pcall(p.requires_grad_, p, true)
      if not ok then error(tostring(err):gsub("^[^\n]-:%d+: ", ""), 2) end
    end
    params[p] = true
    return p
  end

  --- tg.nn.is_parameter(x): whether x was made by tg.nn.Parameter
  function nn.is_parameter(x) return params[x] == true end

  -- print a Parameter as PyTorch does: "Parameter containing:\ntensor(...)"
  local mt = tg._Tensor_mt
  local tostr = mt.__tostring
  mt.__tostring = function(t)
    local s = tostr(t)
    if params[t] then return "Parameter containing:\n" .. s end
    return s
  end
end
