-- examples_spec.lua: the autograd examples run to completion and check their
-- own results (each exits non-zero on a wrong result). They run in a child
-- interpreter with the same LUA_CPATH/LUA_PATH, as `lua5.4 examples/x.lua`.
local function root()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)[/\\]spec[/\\][^/\\]*$")
  return dir or "."
end

local function run(example, args)
  local lua = os.getenv("LUA") or "lua5.4"
  local cmd = ("cd '%s' && %s examples/%s %s > /dev/null 2>&1"):format(root(), lua, example, args or "")
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

  -- the nn examples at a reduced size (each checks its own accuracy or equality)
  local tmp = os.tmpname()
  os.remove(tmp)
  os.execute("mkdir -p '" .. tmp .. "'")
  for _, ex in ipairs{
    {"mlp_train.lua", "--quick '" .. tmp .. "/curve.svg'", "curve.svg"},
    {"cnn_train.lua", "--quick"},
    {"save_load.lua", "'" .. tmp .. "/model.safetensors'", "model.safetensors"},
    {"resnet18_graph.lua", "--quick '" .. tmp .. "'", "resnet18.dot"},
  } do
    it(ex[1] .. " runs and passes its own checks", function()
      local ok, how, code = run(ex[1], ex[2])
      assert(ok, ("examples/%s failed (%s %s)"):format(ex[1], tostring(how), tostring(code)))
      if ex[3] then
        local f = io.open(tmp .. "/" .. ex[3], "rb")
        assert(f, ex[3] .. " was not written")
        assert(#f:read("a") > 100, ex[3] .. " is too short")
        f:close()
      end
    end)
  end
end)
