-- readme_files_spec.lua: the Lua snippets of README.md's section "Saving,
-- loading, pictures and data" run as printed (each in a fresh lua5.4 process,
-- in a temporary directory), print what their `--> ` comments say, and the
-- DOT text shown after the graph snippet is what it prints.
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "spec/"
local f = assert(io.open(dir .. "../README.md", "rb"))
local readme = f:read("a")
f:close()

local section = readme:match("\n## Saving, loading, pictures and data\n(.-)\n## ")
local blocks = {}
if section then
  for lang, code in section:gmatch("\n```(%w*)\n(.-)\n```") do blocks[#blocks + 1] = {lang = lang, code = code} end
end

local function sh_quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

-- run code in a temporary directory; returns ok, stdout
local function run(code)
  local work = os.tmpname()
  os.remove(work)
  assert(os.execute("mkdir " .. sh_quote(work)))
  local script = work .. "/snippet.lua"
  local out = work .. "/out.txt"
  local sf = assert(io.open(script, "wb"))
  sf:write(code)
  sf:close()
  local cmd = ("cd %s && LUA_CPATH=%s LUA_PATH=%s lua5.4 snippet.lua > out.txt 2>/dev/null"):format(
    sh_quote(work), sh_quote(package.cpath), sh_quote(package.path))
  local ok = os.execute(cmd)
  local of = assert(io.open(out, "rb"))
  local text = of:read("a")
  of:close()
  os.execute("rm -rf " .. sh_quote(work))
  return ok, text
end

describe("README: saving, loading, pictures and data", function()
  it("has the section and its snippets", function()
    assert.is_truthy(section, "README.md lost its section 'Saving, loading, pictures and data'")
    local n = 0
    for _, b in ipairs(blocks) do if b.lang == "lua" then n = n + 1 end end
    assert.are.equal(3, n)
  end)

  for i, b in ipairs(blocks) do
    if b.lang == "lua" then
      it("snippet " .. i .. " runs as printed", function()
        local ok, out = run(b.code)
        assert(ok, "the snippet failed:\n" .. b.code .. "\noutput:\n" .. out)
        local lines = {}
        for line in (out .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line:gsub("\t", " ") end
        local at = 1
        for want in b.code:gmatch("%-%->%s*([^\n]-)%s*\n") do
          local found = false
          while at <= #lines and not found do
            found = lines[at] == want
            at = at + 1
          end
          assert(found, ("the snippet did not print %q (output:\n%s)"):format(want, out))
        end
        local shown = blocks[i + 1]
        if shown and shown.lang == "" and shown.code:find("^digraph") then
          assert.is_truthy(out:find(shown.code, 1, true), "the DOT text shown differs from what the snippet prints")
        end
      end)
    end
  end
end)
