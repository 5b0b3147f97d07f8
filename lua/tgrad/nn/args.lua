-- tgrad.nn.args: PyTorch-style arguments for layer constructors: positional
-- values in PyTorch's order, and/or a trailing options table of keyword
-- arguments (Conv2d(3, 64, 7, 2, 3) == Conv2d(3, 64, 7, {stride = 2, padding = 3})).
local M = {}

-- an options table: a plain table without list part (a tuple {3, 3} is a value)
local function is_opts(v)
  return type(v) == "table" and getmetatable(v) == nil and v[1] == nil
end
M.is_opts = is_opts

--- M.parse(cname, spec, ...): spec = {{"name", default}, ...} in PyTorch's
-- order; returns a table name -> value. A name with default M.REQUIRED must be given.
M.REQUIRED = setmetatable({}, {__tostring = function() return "<required>" end})
function M.parse(cname, spec, ...)
  local args = table.pack(...)
  local n = args.n
  while n > 0 and args[n] == nil do n = n - 1 end
  local opts
  if n > 0 and is_opts(args[n]) then
    opts = args[n]
    n = n - 1
  end
  if n > #spec then
    error(("%s.__init__() takes %d positional arguments but %d were given"):format(cname, #spec, n), 3)
  end
  local out, known = {}, {}
  for i, s in ipairs(spec) do
    known[s[1]] = true
    if i <= n then out[s[1]] = args[i] end
  end
  if opts then
    for k, v in pairs(opts) do
      if not known[k] then
        error(("%s.__init__() got an unexpected keyword argument '%s'"):format(cname, tostring(k)), 3)
      end
      if out[k] ~= nil then
        error(("%s.__init__() got multiple values for argument '%s'"):format(cname, k), 3)
      end
      out[k] = v
    end
  end
  for _, s in ipairs(spec) do
    if out[s[1]] == nil then
      if s[2] == M.REQUIRED then
        error(("%s.__init__() missing required argument: '%s'"):format(cname, s[1]), 3)
      end
      out[s[1]] = s[2]
    end
  end
  return out
end

--- M.tuple(v, n): a number repeated n times, or a table of n numbers (copied)
function M.tuple(v, n, what)
  if type(v) == "number" then
    local t = {}
    for i = 1, n do t[i] = v end
    return t
  elseif type(v) == "table" then
    if #v ~= n and #v ~= 1 then
      error(("%s must be a number or a table of %d numbers, got %d"):format(what or "value", n, #v), 4)
    end
    local t = {}
    for i = 1, n do t[i] = v[#v == 1 and 1 or i] end
    return t
  end
  error(("%s must be a number or a table of %d numbers, got %s"):format(what or "value", n, type(v)), 4)
end

return M
