-- nn_readme_spec.lua: the Lua blocks of README's "Neural networks" section run
-- as printed (in order, as one chunk), and every line they print matches the
-- text the README shows after "-->" (tabs written as spaces).
local tg = require "tgrad"

local function section()
  local src = debug.getinfo(1, "S").source:sub(2)
  local root = src:match("^(.*)spec/[^/]*$") or "./"
  local f = assert(io.open(root .. "README.md", "r"))
  local text = f:read("a")
  f:close()
  local body = assert(text:match("\n## Neural networks\n(.-)\n## "), "README has no Neural networks section")
  local blocks = {}
  for code in body:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
  return table.concat(blocks, "\n")
end

describe("README: Neural networks", function()
  it("the snippets run and print what the README shows", function()
    local code = section()
    assert.is_true(#code > 0)
    local printed = {}
    local env = setmetatable({
      print = function(...)
        local parts = {}
        for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
        for line in (table.concat(parts, " ") .. "\n"):gmatch("(.-)\n") do printed[#printed + 1] = line end
      end,
      require = function(name) if name == "tgrad" then return tg end return require(name) end,
    }, {__index = _G})
    local chunk = assert(load(code, "=README", "t", env))
    chunk()
    -- the expected lines, in order: text after "--> " (a line of its own continues the block)
    local want = {}
    for line in code:gmatch("[^\n]+") do
      local shown = line:match("%-%->%s(.*)$")
      if shown then want[#want + 1] = (shown:gsub("%s+$", "")) end
    end
    assert.is_true(#want >= 5)
    local pos = 1
    for _, w in ipairs(want) do
      local found = false
      while pos <= #printed do
        local got = printed[pos]:gsub("\t", " "):gsub("%s+$", "")
        pos = pos + 1
        if got == w then found = true break end
      end
      assert(found, "README shows a line that was not printed (in order): " .. w)
    end
  end)
end)
