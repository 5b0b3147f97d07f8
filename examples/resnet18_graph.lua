-- resnet18_graph.lua: the autograd tutorial's torchviz exercise. resnet18 on a
-- 1x3x224x224 input; its autograd graph as Graphviz DOT (resnet18.dot) and,
-- where Graphviz's `dot` is installed, as SVG (resnet18.svg).
--   lua5.4 examples/resnet18_graph.lua [--quick] [outdir]
-- (--quick: a 1x3x64x64 input, the same graph)
local tg = require "tgrad"

local quick = arg[1] == "--quick"
local outdir = arg[quick and 2 or 1] or "."
tg.manual_seed(0)
local model = tg.models.resnet18()
local n = 0
for _, p in ipairs(model:parameters()) do n = n + p:numel() end
print(("resnet18: %d parameters"):format(n))

local size = quick and 64 or 224
local x = tg.randn(1, 3, size, size)
local y = model(x)
print("output", table.concat(y.shape, "x"), "grad_fn", y.grad_fn)

local params = {}
for name, p in model:named_parameters() do params[name] = p end
local dot = tg.viz.dot(y, {params = params})
local path = outdir .. "/resnet18.dot"
local f = assert(io.open(path, "w"))
f:write(dot)
f:close()
local nodes = select(2, dot:gsub("\n%s*%d+ %[label=", ""))
print(("wrote %s (%d nodes)"):format(path, nodes))

local ok, err = pcall(tg.viz.render, y, outdir .. "/resnet18.svg", {params = params})
if ok then print("wrote " .. outdir .. "/resnet18.svg")
else print("no SVG: " .. tostring(err)) end
