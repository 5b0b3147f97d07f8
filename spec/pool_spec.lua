-- pool_spec.lua: max/avg/adaptive pools, F.pad and F.interpolate (helper pool):
-- values and gradients against PyTorch fixtures (tools/gen_pool_fixtures.py),
-- gradcheck / gradgradcheck in float64, PyTorch's error texts (1-based dims).
local tg = require "tgrad"
local fx = require "support.fixtures"
local F = tg.F

describe("pool fixtures", function()
  fx.add_cases(it, fx.load("pool"), {check_grad_fn = true})
end)
