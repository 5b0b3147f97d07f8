-- tgrad.nn.pyrepr: values written as Python writes them, for module printing
-- (extra_repr) that matches PyTorch's text: True/False/None, floats in
-- Python's shortest round-trip form (0.1, 1e-05, 2.0), tuples "(3, 3)" / "(2,)",
-- strings quoted with ' by repr and bare by str.
local M = {}

--- Python's repr(float): the shortest digits that read back as x, in fixed
-- notation for decimal exponents -4..15, else d.ddde+XX / e-XX.
function M.float(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  if x == 0 then return (1 / x < 0) and "-0.0" or "0.0" end
  local s
  for p = 0, 16 do
    s = ("%." .. p .. "e"):format(x)
    if tonumber(s) == x then break end
  end
  local sign, mant, exp = s:match("^(-?)([%d.]+)e([-+]%d+)$")
  exp = tonumber(exp)
  local digits = mant:gsub("%.", ""):gsub("0+$", "")
  if digits == "" then digits = "0" end
  if exp < -4 or exp >= 16 then
    local m = digits:sub(1, 1) .. (#digits > 1 and ("." .. digits:sub(2)) or "")
    return ("%s%se%s%02d"):format(sign, m, exp < 0 and "-" or "+", math.abs(exp))
  elseif exp >= 0 then
    local int = digits:sub(1, exp + 1)
    int = int .. ("0"):rep(exp + 1 - #int)
    local frac = digits:sub(exp + 2)
    return sign .. int .. "." .. (frac == "" and "0" or frac)
  else
    return sign .. "0." .. ("0"):rep(-exp - 1) .. digits
  end
end

--- Python's repr of a Lua value: nil -> None, booleans True/False, integers
-- as they are, floats as M.float, strings quoted ('mean'), lists as tuples.
function M.repr(v)
  local t = type(v)
  if v == nil then return "None"
  elseif t == "boolean" then return v and "True" or "False"
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return M.float(v)
  elseif t == "string" then return "'" .. v .. "'"
  elseif t == "table" and getmetatable(v) == nil then
    local parts = {}
    for i = 1, #v do parts[i] = M.repr(v[i]) end
    if #parts == 1 then return "(" .. parts[1] .. ",)" end
    return "(" .. table.concat(parts, ", ") .. ")"
  end
  return tostring(v)
end

--- Python's str: as repr, but strings bare ("padding=same")
function M.str(v)
  if type(v) == "string" then return v end
  return M.repr(v)
end

--- PyTorch's _addindent: indent every line but the first by n spaces
function M.addindent(s, n)
  if not s:find("\n", 1, true) then return s end
  local pad = (" "):rep(n)
  return (s:gsub("\n", "\n" .. pad))
end

return M
