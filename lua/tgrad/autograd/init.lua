-- tgrad.autograd: grad(), backward(), gradcheck (finite differences in float64).
return function(tg)
  local autograd = {}
  local is_tensor = tg.is_tensor

  local function as_list(x)
    if x == nil then return nil end
    if is_tensor(x) then return {x}, true end
    return x, false
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
    local res, n = tg._grad(outs, ins, gos, opts or {})
    res.n = n
    return res
  end

  --- backward(tensors, grad_tensors, opts): as t:backward for one or several roots
  function autograd.backward(tensors, grads, opts)
    local ts = as_list(tensors)
    local gs = as_list(grads) or {}
    for i, t in ipairs(ts) do
      local o = opts or {}
      if i < #ts then o = setmetatable({retain_graph = true}, {__index = opts}) end
      t:backward(gs[i], o)
    end
  end

  ---------------------------------------------------------------- gradcheck
  local function flat_view(t) return t.data:reshape(-1) end

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
  function autograd.gradcheck(fn, inputs, opts)
    opts = opts or {}
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
    if #diff == 0 then error("gradcheck expects at least one input tensor to require gradient", 2) end
    for _, ii in ipairs(diff) do
      -- a fresh graph per input: the finite differences below write into inputs
      local outs = outputs_of(fn, inputs)
      for oi, out in ipairs(outs) do
        local no = out:numel()
        local x = inputs[ii]
        local nx = x:numel()
        -- analytical: one vector-Jacobian product per output element
        local ana = {}
        for j = 1, no do ana[j] = {} end
        for j = 1, no do
          local go = tg.zeros_like(out)
          tg.no_grad(function() local f = go:reshape(-1); f[j] = 1 end)
          local g = autograd.grad(out, x, go, {retain_graph = true, allow_unused = true})[1]
          local gf = g and g:reshape(-1) or nil
          for k = 1, nx do ana[j][k] = gf and gf[k]:item() or 0 end
        end
        -- numerical: central differences on each input element
        local num = {}
        for j = 1, no do num[j] = {} end
        local xf = flat_view(x)
        for k = 1, nx do
          local orig = xf[k]:item()
          local plus, minus
          tg.no_grad(function()
            xf[k] = orig + eps
            plus = outputs_of(fn, inputs)[oi]:detach():reshape(-1):clone()
            xf[k] = orig - eps
            minus = outputs_of(fn, inputs)[oi]:detach():reshape(-1):clone()
            xf[k] = orig
          end)
          for j = 1, no do num[j][k] = (plus[j]:item() - minus[j]:item()) / (2 * eps) end
        end
        for j = 1, no do
          for k = 1, nx do
            local a, n = ana[j][k], num[j][k]
            if not (math.abs(a - n) <= atol + rtol * math.abs(n)) then
              local msg = ("Jacobian mismatch for output %d with respect to input %d,\nnumerical:\n%s\nanalytical:\n%s\n")
                :format(oi - 1, ii - 1, fmt_matrix(num), fmt_matrix(ana))
              if raise then error("gradcheck failed: " .. msg, 2) end
              return false, msg
            end
          end
        end
      end
    end
    return true
  end

  return autograd
end
