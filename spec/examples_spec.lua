-- examples_spec.lua: the autograd examples run to completion and check their
-- own results (each exits non-zero on a wrong result). They run in a child
-- interpreter with the same LUA_CPATH/LUA_PATH, as `lua5.4 examples/x.lua`.
local function root()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)[/\\]spec[/\\][^/\\]*$")
  return dir or "."
end

local function run(example)
  local lua = os.getenv("LUA") or "lua5.4"
  local cmd = ("cd '%s' && %s examples/%s > /dev/null 2>&1"):format(root(), lua, example)
  local ok, how, code = os.execute(cmd)
  return ok == true or ok == 0, how, code
end

describe("examples", function()
  for _, name in ipairs{"higher_order.lua", "custom_function.lua"} do
    it(name .. " runs and passes its own checks", function()
      local ok, how, code = run(name)
      assert(ok, ("examples/%s failed (%s %s)"):format(name, tostring(how), tostring(code)))
    end)
  end
end)
