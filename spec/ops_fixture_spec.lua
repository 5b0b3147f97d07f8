-- ops_fixture_spec.lua: tgrad's ops against PyTorch reference values.
-- The fixtures (spec/fixtures/ops.lua) are written by tools/gen_fixtures.py;
-- each case evaluates a Lua expression over inputs a, b, c, compares every
-- output (shape, dtype, values within tol), then backpropagates
-- sum_k sum(out_k * grad_out_k) and compares each input's .grad; float64
-- differentiable cases also go through tg.autograd.gradcheck.
local fx = require "support.fixtures"

local fixtures = fx.load("ops")

describe("ops vs PyTorch fixtures", function()
  local issues, seen = {}, {}
  for _, case in ipairs(fixtures) do
    if not seen[case.issue] then seen[case.issue] = true; issues[#issues + 1] = case.issue end
  end
  table.sort(issues)
  for _, issue in ipairs(issues) do
    describe("issue " .. issue, function()
      fx.add_cases(it, fixtures, {unreached = true}, function(case) return case.issue == issue end)
    end)
  end
end)
