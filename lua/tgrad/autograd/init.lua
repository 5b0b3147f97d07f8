-- tgrad.autograd: grad(), backward(), gradcheck and gradgradcheck (finite
-- differences in float64), custom Functions (function.lua), the functional
-- API (functional.lua), in-place variants (inplace.lua), anomaly mode.
return function(tg)
  local autograd = {}
  local is_tensor = tg.is_tensor
  local rethrow = tg._rethrow

  local function as_list(x)
    if x == nil then return nil end
    if is_tensor(x) then return {x}, true end
    return x, false
  end

  -- tg._grad from a Lua frame, so that its argument errors name a line (this
  -- file's, replaced by grad with the caller's)
  local function run_grad(...)
    local res, n = tg._grad(...)
    return res, n
  end

  --- grad(outputs, inputs, grad_outputs, {retain_graph, create_graph, allow_unused})
  -- returns a Lua list with one gradient (or nil) per input; leaves' .grad untouched.
  function autograd.grad(outputs, inputs, grad_outputs, opts)
    if type(grad_outputs) == "table" and not is_tensor(grad_outputs) and grad_outputs[1] == nil and next(grad_outputs) ~= nil then
      opts, grad_outputs = grad_outputs, nil -- grad(out, x, {opts})
    end
    local outs = as_list(outputs)
    local ins = as_list(inputs)
    local gos = as_list(grad_outputs)
    -- PyTorch's checks, in its order: the outputs, then the inputs (the core checks the rest)
    if type(outs) == "table" then
      for i, o in ipairs(outs) do
        if is_tensor(o) and not o.requires_grad then
          error(("element %d of tensors does not require grad and does not have a grad_fn"):format(i - 1), 2)
        end
      end
    end
    if type(ins) == "table" then
      for i = 1, #ins do
        if not is_tensor(ins[i]) then error("all inputs have to be Tensors, but got " .. type(ins[i]), 2) end
      end
    end
    -- a core error comes back as nil, message (raised here at the caller's line); a
    -- bad argument is raised at this file's line (moved to the caller's); an error
    -- raised by a hook or a custom Function propagates as it was raised
    local ok, res, n = pcall(run_grad, outs, ins, gos, opts or {})
    if not ok then rethrow(res, 2, true) end
    if res == nil then error(n, 2) end
    res.n = n
    return res
  end

  --- backward(tensors, grad_tensors, opts): as t:backward for one or several roots
  local function backward(tensors, grads, opts)
    local ts = as_list(tensors)
    local gs = as_list(grads) or {}
    if type(ts) ~= "table" then error("backward(): expected a Tensor or a list of Tensors, got " .. type(ts)) end
    for i, t in ipairs(ts) do
      local o = opts or {}
      if i < #ts then o = setmetatable({retain_graph = true}, {__index = opts}) end
      t:backward(gs[i], o)
    end
  end

  autograd.backward = tg._entry(backward, true)

  ---------------------------------------------------------------- gradcheck
  -- element k (1-based, row-major) of t's data as a writable 0-d view: works for
  -- any strides (reshape(-1) of a non-contiguous tensor would be a copy, and
  -- perturbing the copy would leave the input unchanged)
  local function element_view(t, k)
    local v, rem = t.data, k - 1
    local shape = t.shape
    local idx = {}
    for d = #shape, 1, -1 do
      idx[d] = rem % shape[d]
      rem = rem // shape[d]
    end
    for d = 1, #shape do v = v:select(1, idx[d] + 1) end
    return v
  end

  local function outputs_of(fn, inputs)
    local out = table.pack(fn(table.unpack(inputs)))
    if out.n == 1 and type(out[1]) == "table" and not is_tensor(out[1]) then out = out[1] end
    local list = {}
    for _, o in ipairs(out) do if is_tensor(o) and o.dtype.is_floating_point then list[#list + 1] = o end end
    return list
  end

  local function fmt_matrix(m)
    local rows = {}
    for i = 1, #m do
      local cells = {}
      for j = 1, #m[i] do cells[j] = string.format("% .6g", m[i][j]) end
      rows[i] = "  [" .. table.concat(cells, ", ") .. "]"
    end
    return table.concat(rows, "\n")
  end

  --- gradcheck(fn, inputs, {eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=true})
  -- compares the analytical Jacobian (backward) with central finite differences.
  -- an options table whose keys are all known (Python's TypeError text otherwise)
  local function check_opts(opts, fname, allowed)
    if opts == nil then return {} end
    if type(opts) ~= "table" then error(("%s(): options must be a table, got %s"):format(fname, type(opts))) end
    for k in pairs(opts) do
      if not allowed[k] then error(("%s() got an unexpected keyword argument '%s'"):format(fname, tostring(k))) end
    end
    return opts
  end
  autograd._check_opts = check_opts
  local CHECK_OPTS = {eps = true, atol = true, rtol = true, raise_exception = true}

  local function gradcheck(fn, inputs, opts)
    opts = check_opts(opts, "gradcheck", CHECK_OPTS)
    local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
    local raise = opts.raise_exception ~= false
    inputs = as_list(inputs)
    local diff = {}
    for i, x in ipairs(inputs) do
      if is_tensor(x) and x.requires_grad then
        if x.dtype ~= tg.float64 then
          io.stderr:write(("gradcheck: input %d is %s, not float64: finite differences will be imprecise\n"):format(i, tostring(x.dtype)))
        end
        diff[#diff + 1] = i
      end
    end
    if #diff == 0 then error("gradcheck expects at least one input tensor to require gradient") end
    for _, ii in ipairs(diff) do
      -- a fresh graph per input: the finite differences below write into inputs
      local n_outs = #outputs_of(fn, inputs)
      for oi = 1, n_outs do
        -- a fresh graph per output: the finite differences bump the inputs' versions
        local out = outputs_of(fn, inputs)[oi]
        local no = out:numel()
        local x = inputs[ii]
        local nx = x:numel()
        -- analytical: one vector-Jacobian product per output element
        local ana = {}
        for j = 1, no do ana[j] = {} end
        for j = 1, no do
          local go = tg.zeros_like(out)
          tg.no_grad(function() local f = go:reshape(-1); f[j] = 1 end)
          local g = out.requires_grad and autograd.grad(out, x, go, {retain_graph = true, allow_unused = true})[1] or nil
          local gf = g and g:reshape(-1) or nil
          for k = 1, nx do ana[j][k] = gf and gf[k]:item() or 0 end
        end
        -- numerical: central differences on each input element
        local num = {}
        for j = 1, no do num[j] = {} end
        for k = 1, nx do
          local xk = element_view(x, k)
          local orig = xk:item()
          local plus, minus
          tg.no_grad(function()
            xk:fill_(orig + eps)
            plus = outputs_of(fn, inputs)[oi]:detach():reshape(-1):clone()
            xk:fill_(orig - eps)
            minus = outputs_of(fn, inputs)[oi]:detach():reshape(-1):clone()
            xk:fill_(orig)
          end)
          for j = 1, no do num[j][k] = (plus[j]:item() - minus[j]:item()) / (2 * eps) end
        end
        for j = 1, no do
          for k = 1, nx do
            local a, n = ana[j][k], num[j][k]
            if not (math.abs(a - n) <= atol + rtol * math.abs(n)) then
              local msg = ("Jacobian mismatch for output %d with respect to input %d,\nnumerical:\n%s\nanalytical:\n%s\n")
                :format(oi - 1, ii - 1, fmt_matrix(num), fmt_matrix(ana))
              if raise then error("gradcheck failed: " .. msg) end
              return false, msg
            end
          end
        end
      end
    end
    return true
  end

  -- the entry points: errors of the work (and of the core it calls) at the caller's line;
  -- an error raised by fn, a hook or a custom Function propagates as it was raised
  autograd.gradcheck = tg._entry(gradcheck, true)

  --- gradgradcheck(fn, inputs, grad_outputs, {eps, atol, rtol, raise_exception})
  -- checks second derivatives: gradcheck of (inputs, v) -> grad(fn(inputs), inputs, v,
  -- {create_graph = true}), with v random (float64) unless grad_outputs are given.
  local function gradgradcheck(fn, inputs, grad_outputs, opts)
    if type(grad_outputs) == "table" and not is_tensor(grad_outputs) and grad_outputs[1] == nil and next(grad_outputs) ~= nil then
      opts, grad_outputs = grad_outputs, nil
    end
    check_opts(opts, "gradgradcheck", CHECK_OPTS)
    inputs = as_list(inputs)
    local n_in = #inputs
    local diff = {}
    for i, x in ipairs(inputs) do
      if is_tensor(x) and x.requires_grad then diff[#diff + 1] = i end
    end
    if #diff == 0 then error("gradgradcheck expects at least one input tensor to require gradient") end
    local gos = as_list(grad_outputs)
    if not gos then
      gos = {}
      for i, o in ipairs(outputs_of(fn, inputs)) do
        gos[i] = tg.randn(o.shape, {dtype = tg.float64}):to(o.dtype):requires_grad_(true)
      end
    end
    local function first_order_impl(...)
      local args = table.pack(...)
      local ins = {}
      for i = 1, n_in do ins[i] = args[i] end
      local vs = {}
      for i = 1, #gos do vs[i] = args[n_in + i] end
      local outs = outputs_of(fn, ins)
      local xs = {}
      for k, i in ipairs(diff) do xs[k] = ins[i] end
      local used, used_vs = {}, {}
      for i, o in ipairs(outs) do
        if o.requires_grad then used[#used + 1] = o; used_vs[#used_vs + 1] = vs[i] end
      end
      local res = {}
      if #used == 0 then return res end
      local gs = autograd.grad(used, xs, used_vs, {create_graph = true, allow_unused = true})
      for k = 1, #xs do if gs[k] then res[#res + 1] = gs[k] end end
      return res
    end
    -- gradcheck evaluates the function under no_grad for finite differences:
    -- the first derivatives need grad mode inside
    local function first_order(...) return tg.enable_grad(first_order_impl, ...) end
    local all = {}
    for i = 1, n_in do all[i] = inputs[i] end
    for i = 1, #gos do all[n_in + i] = gos[i] end
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if o.raise_exception == nil then o.raise_exception = true end
    local ok, res, msg = pcall(gradcheck, first_order, all, o)
    if not ok then
      if type(res) == "string" then res = res:gsub("^(%[tgrad%] [%w_.]+:%d+: )gradcheck failed: ", "%1gradgradcheck failed: ") end
      error(res, 0)
    end
    return res, msg
  end

  autograd.gradgradcheck = tg._entry(gradgradcheck, true)

  ---------------------------------------------------------------- anomaly mode
  --- set_detect_anomaly(b): a NaN produced in backward raises, naming the node and
  -- the Lua traceback of the forward call that created it. Returns the previous mode.
  function autograd.set_detect_anomaly(enabled)
    return tg._set_detect_anomaly(enabled and true or false)
  end

  function autograd.is_anomaly_enabled() return tg._is_anomaly_enabled() end

  --- detect_anomaly(fn, ...): runs fn with anomaly mode on; detect_anomaly() returns a <close> guard
  function autograd.detect_anomaly(fn, ...)
    local prev = tg._set_detect_anomaly(true)
    if fn == nil then
      return setmetatable({}, {__close = function() tg._set_detect_anomaly(prev) end,
                               __name = "tgrad.anomaly_guard"})
    end
    local res = table.pack(pcall(fn, ...))
    tg._set_detect_anomaly(prev)
    if not res[1] then error(res[2], 0) end
    return table.unpack(res, 2, res.n)
  end

  ---------------------------------------------------------------- the rest
  autograd.Function = require("tgrad.autograd.function")(tg)
  autograd.functional = require("tgrad.autograd.functional")(tg, autograd)
  autograd._install_inplace = require("tgrad.autograd.inplace")(tg)

  return autograd
end
