-- diff_spec.lua: differential fuzzing against PyTorch. spec/fixtures/diff.lua
-- holds random valid cases for the common ops (unary, broadcasting binary,
-- reductions over random dims, softmax, matrix products, views and shape
-- ops, on scalars, size-1 dims and non-contiguous inputs), drawn by
-- tools/gen_diff_fixtures.py with PyTorch's forward values and input
-- gradients in float64. Every case must match: 0 mismatches.
local fx = require "support.fixtures"
local cases = fx.load("diff")

describe("differential fuzzing against PyTorch (float64 forward values and input gradients)", function()
  it("has the generated cases", function()
    assert.is_true(#cases >= 300, #cases .. " cases")
  end)

  it("matches PyTorch on every case", function()
    local mismatches = {}
    for _, case in ipairs(cases) do
      local ok, err = pcall(fx.run_forward_backward, case, {unreached = true})
      if not ok then mismatches[#mismatches + 1] = ("%s [%s]: %s"):format(case.name, case.expr, tostring(err)) end
    end
    assert(#mismatches == 0, #mismatches .. " mismatches of " .. #cases .. ":\n" .. table.concat(mismatches, "\n"))
  end)
end)
