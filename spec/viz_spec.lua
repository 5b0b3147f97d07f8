-- viz_spec.lua: tg.viz.dot (torchviz's make_dot, issue 8), tg.viz.render
-- through Graphviz's `dot` (skipped, with the reason, where it is missing),
-- tg.viz.plot (standalone SVG curves).
local tg = require "tgrad"
local errors = require("support.helpers").errors

local tmp = os.tmpname()
teardown(function()
  os.remove(tmp)
  for _, ext in ipairs {".svg", ".png", ".pdf", ".dot"} do os.remove(tmp .. ext) end
end)

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local HEAD = 'digraph {\n\tgraph [size="12,12"]\n'
  .. "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n"

-- torchviz's make_dot(y, params={'fc.weight': w, 'fc.bias': b}) for the same graph
-- gives this text, with its id() numbers where tgrad numbers nodes 1, 2, ...
local function small_graph()
  local w = tg.randn(4, 2, {requires_grad = true})
  local b = tg.randn(2, {requires_grad = true})
  local x = tg.randn(3, 4)
  local y = (tg.matmul(x, w) + b):tanh():sum()
  return y, w, b
end

local SMALL = HEAD .. [[
	1 [label="
 ()" fillcolor=darkolivegreen1]
	2 [label=SumBackward0]
	3 -> 2
	3 [label=TanhBackward0]
	4 -> 3
	4 [label=AddBackward0]
	5 -> 4
	5 [label=MmBackward0]
	6 -> 5
	7 [label="fc.weight
 (4, 2)" fillcolor=lightblue]
	7 -> 6
	6 [label=AccumulateGrad]
	8 -> 4
	9 [label="fc.bias
 (2)" fillcolor=lightblue]
	9 -> 8
	8 [label=AccumulateGrad]
	2 -> 1
}
]]

describe("tg.viz.dot", function()
  it("writes torchviz's make_dot text for a known graph", function()
    local y, w, b = small_graph()
    assert.are.equal(SMALL, tg.viz.dot(y, {params = {["fc.weight"] = w, ["fc.bias"] = b}}))
  end)

  it("takes params as an iterator (for name, p in ...) or an object with named_parameters", function()
    local y, w, b = small_graph()
    local list = {{"fc.weight", w}, {"fc.bias", b}}
    local function iter()
      local i = 0
      return function()
        i = i + 1
        if list[i] then return list[i][1], list[i][2] end
      end
    end
    assert.are.equal(SMALL, tg.viz.dot(y, {params = iter()}))
    assert.are.equal(SMALL, tg.viz.dot(y, {params = {named_parameters = function() return iter() end}}))
  end)

  it("leaves unnamed leaves blank, as torchviz does", function()
    local y = small_graph()
    local dot = tg.viz.dot(y)
    assert.is_truthy(dot:find('7 [label="\n (4, 2)" fillcolor=lightblue]', 1, true))
    assert.is_truthy(dot:find('9 [label="\n (2)" fillcolor=lightblue]', 1, true))
  end)

  it("shows saved tensors in orange and node attributes when asked", function()
    local y, w, b = small_graph()
    local dot = tg.viz.dot(y, {params = {["fc.weight"] = w, ["fc.bias"] = b}, show_saved = true, show_attrs = true})
    assert.are.equal(HEAD .. [[
	1 [label="
 ()" fillcolor=darkolivegreen1]
	2 [label="SumBackward0
--------------------
input1_sizes: (3, 2)"]
	3 -> 2
	3 -> 4 [dir=none]
	4 [label="result
 (3, 2)" fillcolor=orange]
	3 [label="TanhBackward0
----------------------------
input1_sizes:         (3, 2)
result      : [saved tensor]"]
	5 -> 3
	5 [label="AddBackward0
--------------------
input1_sizes: (3, 2)
input2_sizes:    (2)"]
	6 -> 5
	6 -> 7 [dir=none]
	7 [label="saved1
 (3, 4)" fillcolor=orange]
	6 -> 8 [dir=none]
	8 [label="saved2
 (4, 2)" fillcolor=orange]
	6 [label="MmBackward0
----------------------------
input1_sizes:         (3, 4)
input2_sizes:         (4, 2)
saved1      : [saved tensor]
saved2      : [saved tensor]"]
	9 -> 6
	8 [label="fc.weight
 (4, 2)" fillcolor=lightblue]
	8 -> 9
	9 [label=AccumulateGrad]
	10 -> 5
	11 [label="fc.bias
 (2)" fillcolor=lightblue]
	11 -> 10
	10 [label=AccumulateGrad]
	2 -> 1
}
]], dot)
  end)

  it("truncates long attributes to max_attr_chars", function()
    local y = small_graph()
    local dot = tg.viz.dot(y, {show_attrs = true, max_attr_chars = 5})
    assert.is_truthy(dot:find("result      : [s...", 1, true))
  end)

  it("draws several roots, a shared leaf once, and a view's base in dark green with a dotted edge", function()
    local z = tg.tensor(2.0, {requires_grad = true})
    local dot = tg.viz.dot({z * 3, (z * 2):view(1)}, {params = {z = z}})
    assert.are.equal(HEAD .. [[
	1 [label="
 ()" fillcolor=darkolivegreen1]
	2 [label=MulBackward0]
	3 -> 2
	4 [label="z
 ()" fillcolor=lightblue]
	4 -> 3
	3 [label=AccumulateGrad]
	2 -> 1
	5 [label="
 (1)" fillcolor=darkolivegreen1]
	6 [label=ViewBackward0]
	7 -> 6
	7 [label=MulBackward0]
	3 -> 7
	6 -> 5
	8 [label="
 ()" fillcolor=darkolivegreen3]
	7 -> 8
	8 -> 5 [style=dotted]
}
]], dot)
  end)

  it("draws a leaf root alone, and grows the size with the graph as torchviz does", function()
    local a = tg.ones(2, 3, {requires_grad = true})
    assert.are.equal(HEAD .. '\t1 [label="a\n (2, 3)" fillcolor=darkolivegreen1]\n}\n', tg.viz.dot(a, {params = {a = a}}))
    local x = tg.ones(1, {requires_grad = true})
    local y = x
    for _ = 1, 40 do y = y * 2 end -- 40 nodes + 40 edges + the leaf's 3 lines + the root's 2
    local dot = tg.viz.dot(y)
    local rows = select(2, dot:gsub("\n\t", "")) - 2 -- body lines (less the graph and node lines)
    assert.are.equal(85, rows)
    assert.is_truthy(dot:find('graph [size="12.75,12.75"]', 1, true))
  end)

  it("quotes labels as Python's graphviz does and names custom Functions", function()
    local w = tg.ones(2, {requires_grad = true})
    local dot = tg.viz.dot((w * 2):sum(), {params = {['my "w"'] = w}})
    assert.is_truthy(dot:find('[label="my \\"w\\"\n (2)" fillcolor=lightblue]', 1, true))
    assert.are.equal("SumBackward0", tg.viz._quote("SumBackward0"))
    assert.are.equal('"a b"', tg.viz._quote("a b"))
    assert.are.equal('"node"', tg.viz._quote("node"))
    assert.are.equal("-1.5", tg.viz._quote("-1.5"))
    assert.are.equal('"a\\"b"', tg.viz._quote('a\\"b'))
    local Double = tg.autograd.Function {
      forward = function(ctx, x) return x * 2 end,
      backward = function(ctx, g) return g * 2 end,
    }
    local out = Double:apply(w)
    local name = out.grad_fn.name
    assert.is_truthy(tg.viz.dot(out):find(tg.viz._quote(name), 1, true))
  end)

  it("always draws a custom Function's saved tensors, as torchviz does", function()
    local Exp = tg.autograd.Function {
      name = "Exp",
      forward = function(ctx, x)
        local y = x:exp()
        ctx:save_for_backward(y)
        return y
      end,
      backward = function(ctx, gy) return gy * ctx.saved_tensors[1] end,
    }
    local x = tg.ones(2, {requires_grad = true})
    -- torchviz's text for the same torch.autograd.Function, ids renumbered
    assert.are.equal(HEAD .. [[
	1 [label="
 ()" fillcolor=darkolivegreen1]
	2 [label=SumBackward0]
	3 -> 2
	3 [label=ExpBackward]
	4 -> 3
	5 [label="x
 (2)" fillcolor=lightblue]
	5 -> 4
	4 [label=AccumulateGrad]
	6 -> 3 [dir=none]
	6 [label="
 (2)" fillcolor=orange]
	2 -> 1
}
]], tg.viz.dot(Exp:apply(x):sum(), {params = {x = x}}))
  end)

  it("works after backward freed the saved tensors", function()
    local y, w, b = small_graph()
    y:backward()
    assert.are.equal(SMALL, tg.viz.dot(y, {params = {["fc.weight"] = w, ["fc.bias"] = b}}))
    assert.is_falsy(tg.viz.dot(y, {show_saved = true}):find("orange", 1, true))
  end)

  it("refuses bad input clearly", function()
    errors("expected a tensor or a list of tensors, got number", tg.viz.dot, 3)
    errors("root[2] is a string", tg.viz.dot, {tg.ones(1), "x"})
    errors("params['w'] is a number, expected a tensor", tg.viz.dot, tg.ones(1), {params = {w = 1}})
    errors("make_dot() got an unexpected keyword argument 'show_save'", tg.viz.dot, tg.ones(1), {show_save = true})
  end)
end)

describe("tg.viz.render", function()
  local has_dot = os.execute("command -v dot >/dev/null 2>&1")

  it("writes .dot text without Graphviz", function()
    local y, w, b = small_graph()
    assert.are.equal(tmp .. ".dot", tg.viz.render(y, tmp .. ".dot", {params = {["fc.weight"] = w, ["fc.bias"] = b}}))
    assert.are.equal(SMALL, read(tmp .. ".dot"))
  end)

  it("says which package to install when `dot` is missing", function()
    errors('Graphviz\'s `/nonexistent/dot` program was not found; install the package "graphviz"',
      tg.viz.render, tg.ones(1), tmp .. ".svg", {dot = "/nonexistent/dot"})
  end)

  it("refuses a path whose format it cannot tell", function()
    errors("cannot tell the format of 'graph.bmp'", tg.viz.render, tg.ones(1), "graph.bmp")
  end)

  if has_dot then
    it("renders SVG, PNG and PDF through Graphviz", function()
      local y, w, b = small_graph()
      tg.viz.render(y, tmp .. ".svg", {params = {["fc.weight"] = w}})
      local svg = read(tmp .. ".svg")
      assert.is_truthy(svg:find("<svg", 1, true))
      assert.is_truthy(svg:find("MmBackward0", 1, true))
      assert.is_truthy(svg:find("fc.weight", 1, true))
      tg.viz.render(y, tmp .. ".png")
      assert.are.equal("\137PNG", read(tmp .. ".png"):sub(1, 4))
      tg.viz.render(y, tmp .. ".pdf")
      assert.are.equal("%PDF", read(tmp .. ".pdf"):sub(1, 4))
    end)

    it("quotes the output path for the shell", function()
      local odd = tmp .. " it's $(odd).svg"
      tg.viz.render(tg.ones(1), odd)
      assert.is_truthy(read(odd):find("<svg", 1, true))
      os.remove(odd)
    end)
  else
    pending("renders SVG, PNG and PDF through Graphviz: skipped, `dot` is not installed (apt-get install graphviz)")
  end
end)

describe("tg.viz.plot", function()
  -- a small XML well-formedness check: tags nest and close, attributes are quoted
  local function parse(svg)
    local stack, count = {}, {}
    local body = svg:gsub("^<%?xml[^>]*%?>%s*", "")
    for close, name, attrs, selfclose in body:gmatch("<(/?)([%w:_-]+)([^>]-)(/?)>") do
      assert(not attrs:find("<", 1, true), "stray < in a tag")
      local stripped = attrs:gsub('%s[%w:_-]+="[^"]*"', "")
      assert(stripped:match("^%s*$"), "unquoted attribute in <" .. name .. attrs .. ">")
      if close == "/" then
        assert.are.equal(name, table.remove(stack))
      else
        if selfclose ~= "/" then stack[#stack + 1] = name end
        count[name] = (count[name] or 0) + 1
      end
    end
    assert.are.equal(0, #stack, "unclosed tags")
    assert.is_falsy(body:gsub("<[^>]*>", ""):find("[<>]"), "stray < or > in text")
    return count
  end

  local function polylines(svg)
    local out = {}
    for name, pts in svg:gmatch('<polyline class="series" data%-name="([^"]*)"[^>]- points="([^"]*)"') do
      local n = 0
      for x, y in pts:gmatch("([%d.-]+),([%d.-]+)") do
        n = n + 1
        assert(tonumber(x) and tonumber(y))
      end
      out[#out + 1] = {name = name, n = n}
    end
    return out
  end

  it("writes a standalone SVG with a polyline per series, axes, ticks and a legend", function()
    local loss, acc = {}, {}
    for i = 1, 37 do
      loss[i] = 2.3 * math.exp(-i / 8)
      acc[i] = 1 - math.exp(-i / 6)
    end
    assert.are.equal(tmp .. ".svg", tg.viz.plot({loss = loss, acc = acc}, tmp .. ".svg",
      {title = "Loss & accuracy <train>", xlabel = "epoch", ylabel = "value"}))
    local svg = read(tmp .. ".svg")
    local count = parse(svg)
    assert.are.equal(1, count.svg)
    assert.are.same({{name = "acc", n = 37}, {name = "loss", n = 37}}, polylines(svg))
    assert.is_truthy(svg:find("Loss &amp; accuracy &lt;train&gt;", 1, true))
    assert.is_truthy(svg:find(">epoch</text>", 1, true))
    assert.is_truthy(svg:find(">value</text>", 1, true))
    assert.is_truthy(svg:find('class="legend"', 1, true))
    assert.is_truthy(svg:find(">35</text>", 1, true)) -- an x tick
    assert.is_truthy(svg:find(">2.5</text>", 1, true)) -- a y tick
  end)

  it("takes a plain list, a tensor, or a list of {name, values}; skips non-finite points", function()
    tg.viz.plot({3, 2, 1}, tmp .. ".svg")
    assert.are.same({{name = "value", n = 3}}, polylines(read(tmp .. ".svg")))
    tg.viz.plot(tg.tensor({1.0, 0.5, 0.25, 0.125}), tmp .. ".svg")
    assert.are.same({{name = "value", n = 4}}, polylines(read(tmp .. ".svg")))
    tg.viz.plot({{name = "b", values = {1, 0 / 0, 3}}, {name = "a", values = {5}}}, tmp .. ".svg")
    local svg = read(tmp .. ".svg")
    parse(svg)
    assert.are.same({{name = "b", n = 2}, {name = "a", n = 1}}, polylines(svg))
    tg.viz.plot({flat = {2, 2, 2}}, tmp .. ".svg") -- a constant series still gets a y range
    parse(read(tmp .. ".svg"))
  end)

  it("refuses bad series clearly", function()
    errors("series 'loss'[2] is a string, expected a number", tg.viz.plot, {loss = {1, "x"}}, tmp .. ".svg")
    errors("no series to draw", tg.viz.plot, {}, tmp .. ".svg")
    errors("path must be a string", tg.viz.plot, {1, 2})
  end)
end)
