-- tgrad.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp
-- (torch.autograd.functional). `inputs` is a tensor or a list of tensors;
-- fn is called as fn(x) or fn(x1, x2, ...). opts: {create_graph = false}.
-- Results for one input are tensors, for a list of inputs lists.
return function(tg, autograd)
  local functional = {}
  local is_tensor = tg.is_tensor

  -- inputs as a list of fresh tensors that require grad (the caller's graph is kept with create_graph)
  local function prepare(inputs, create_graph)
    local single = is_tensor(inputs)
    local list = single and {inputs} or inputs
    if type(list) ~= "table" then error("inputs must be a Tensor or a list of Tensors") end
    local out = {}
    for i, x in ipairs(list) do
      if not is_tensor(x) then error(("inputs[%d] is not a Tensor"):format(i)) end
      if create_graph and x.requires_grad then
        out[i] = x:view(x.shape)
      else
        out[i] = x:detach():requires_grad_(true)
      end
    end
    return out, single
  end

  local function call(fn, xs)
    local res = fn(table.unpack(xs))
    local single = is_tensor(res)
    local list = single and {res} or res
    if type(list) ~= "table" then error("the function must return a Tensor or a list of Tensors") end
    return list, single
  end

  -- the start every entry point shares: create_graph, the prepared inputs, fn's outputs
  local FUNCTIONAL_OPTS = {create_graph = true}
  local function setup(fname, fn, inputs, opts)
    local cg = autograd._check_opts(opts, fname, FUNCTIONAL_OPTS).create_graph or false
    local xs, single_in = prepare(inputs, cg)
    local outs, single_out = call(fn, xs)
    return cg, xs, single_in, outs, single_out
  end

  local function grads_or_zeros(outs, xs, gos, create_graph)
    local any = false
    for _, o in ipairs(outs) do any = any or o.requires_grad end
    local gs = any and autograd.grad(outs, xs, gos, {retain_graph = true, create_graph = create_graph, allow_unused = true}) or {}
    local r = {}
    for i, x in ipairs(xs) do r[i] = gs[i] or tg.zeros_like(x) end
    return r
  end

  local function shape_cat(a, b)
    local s = {}
    for _, v in ipairs(a) do s[#s + 1] = v end
    for _, v in ipairs(b) do s[#s + 1] = v end
    return s
  end

  local function maybe_detach(t, create_graph) return create_graph and t or t:detach() end

  --- jacobian(fn, inputs, {create_graph}) -> J with shape out.shape .. in.shape
  -- (nested lists J[i][j] for several outputs / inputs)
  function functional.jacobian(fn, inputs, opts)
    local cg, xs, single_in, outs, single_out = setup("jacobian", fn, inputs, opts)
    local J = {}
    for oi, out in ipairs(outs) do
      local no = out:numel()
      J[oi] = {}
      local rows = {}
      for xi, x in ipairs(xs) do rows[xi] = tg.zeros(no, x:numel(), {dtype = x.dtype}) end
      for j = 1, no do
        local go = tg.zeros(no, {dtype = out.dtype})
        go[j] = 1
        local gs = grads_or_zeros({out}, xs, {go:reshape(out.shape)}, cg)
        for xi in ipairs(xs) do rows[xi]:select(1, j):copy_(gs[xi]:reshape(-1)) end
      end
      for xi, x in ipairs(xs) do
        J[oi][xi] = maybe_detach(rows[xi]:reshape(shape_cat(out.shape, x.shape)), cg)
      end
    end
    if single_out and single_in then return J[1][1] end
    if single_out then return J[1] end
    if single_in then
      local r = {}
      for oi = 1, #J do r[oi] = J[oi][1] end
      return r
    end
    return J
  end

  --- hessian(fn, inputs, {create_graph}) -> H with shape in.shape .. in.shape (fn returns a scalar)
  function functional.hessian(fn, inputs, opts)
    local single = is_tensor(inputs)
    local function gradient(...)
      local xs = {...}
      local out = fn(...)
      if not is_tensor(out) or out:numel() ~= 1 then
        error("The function given to hessian should return a single Tensor with a single element")
      end
      local gs = grads_or_zeros({out}, xs, nil, true)
      if single then return gs[1] end
      return gs
    end
    local H = functional.jacobian(gradient, inputs, opts) -- not a tail call: its errors name this line
    return H
  end

  local function as_list(v)
    if v == nil then return nil end
    if is_tensor(v) then return {v} end
    return v
  end

  local function result(list, single)
    if single then return list[1] end
    return list
  end

  -- a list of results (outputs or gradients), detached unless create_graph
  local function detached_result(list, single, cg)
    local r = {}
    for i, t in ipairs(list) do r[i] = maybe_detach(t, cg) end
    return result(r, single)
  end

  -- v may be left out only when each tensor of list has one element
  local function check_single_elements(list, msg)
    for _, t in ipairs(list) do
      if t:numel() ~= 1 then error(msg) end
    end
  end

  local function size_str(t) return "torch.Size([" .. table.concat(t.shape, ", ") .. "])" end

  -- PyTorch's _validate_v: one v per tensor of `others` (fn's outputs for vjp, its
  -- inputs for jvp/hvp/vhp), each of the same shape (entries counted from 1)
  local function validate_v(fname, vs, others, others_is_list)
    for i = 1, #vs do
      if not is_tensor(vs[i]) then
        error(("The v given to %s must be either a Tensor or a list of Tensors"):format(fname))
      end
    end
    if #vs ~= #others then
      if others_is_list then
        error(("v is a tuple of invalid length: should be %d but got %d."):format(#others, #vs))
      end
      error("The given v should contain a single Tensor.")
    end
    for i, o in ipairs(others) do
      local a, b = vs[i].shape, o.shape
      local same = #a == #b
      for d = 1, #a do same = same and a[d] == b[d] end
      if not same then
        error(("%sv has invalid size: should be %s but got %s."):format(
          others_is_list and ("Entry %d in "):format(i) or "", size_str(o), size_str(vs[i])))
      end
    end
  end

  --- vjp(fn, inputs, v, {create_graph}) -> fn(inputs), v^T J
  function functional.vjp(fn, inputs, v, opts)
    local cg, xs, single_in, outs, single_out = setup("vjp", fn, inputs, opts)
    local vs = as_list(v)
    if not vs then
      check_single_elements(outs, "The vector v can only be nil if the user-provided function returns a single Tensor with a single element.")
    else
      validate_v("vjp", vs, outs, not single_out)
    end
    local gs = grads_or_zeros(outs, xs, vs, cg)
    return detached_result(outs, single_out, cg), detached_result(gs, single_in, cg)
  end

  --- jvp(fn, inputs, v, {create_graph}) -> fn(inputs), J v (by the double-vjp trick)
  function functional.jvp(fn, inputs, v, opts)
    local cg, xs, single_in, outs, single_out = setup("jvp", fn, inputs, opts)
    local vs = as_list(v)
    if vs then validate_v("jvp", vs, xs, not single_in) end
    if not vs then
      check_single_elements(xs, "The vector v can only be nil if the input to the user-provided function is a single Tensor with a single element.")
      vs = {}
      for i, x in ipairs(xs) do vs[i] = tg.ones_like(x) end
    end
    -- u -> u^T J is linear in u; its vjp with v is J v
    local us = {}
    for i, o in ipairs(outs) do us[i] = tg.zeros_like(o):requires_grad_(true) end
    local gs = grads_or_zeros(outs, xs, us, true)
    local jv = grads_or_zeros(gs, us, vs, cg)
    return detached_result(outs, single_out, cg), detached_result(jv, single_out, cg)
  end

  --- hvp(fn, inputs, v, {create_graph}) -> fn(inputs), H v (fn returns a scalar)
  local function hvp_named(fname, fn, inputs, v, opts)
    local cg, xs, single_in, outs = setup(fname, fn, inputs, opts)
    if #outs ~= 1 or outs[1]:numel() ~= 1 then
      error(("The function given to %s should return a single Tensor with a single element"):format(fname))
    end
    local vs = as_list(v)
    if vs then validate_v(fname, vs, xs, not single_in) end
    if not vs then
      check_single_elements(xs, "The vector v can only be nil if the input to the user-provided function is a single Tensor with a single element.")
      vs = {}
      for i, x in ipairs(xs) do vs[i] = tg.ones_like(x) end
    end
    local gs = grads_or_zeros(outs, xs, nil, true)
    local hv = grads_or_zeros(gs, xs, vs, cg)
    return maybe_detach(outs[1], cg), detached_result(hv, single_in, cg)
  end

  function functional.hvp(fn, inputs, v, opts)
    local out, hv = hvp_named("hvp", fn, inputs, v, opts)
    return out, hv
  end

  --- vhp(fn, inputs, v): v^T H (equal to H v: the Hessian is symmetric)
  function functional.vhp(fn, inputs, v, opts)
    local out, vh = hvp_named("vhp", fn, inputs, v, opts)
    return out, vh
  end

  -- the entry points: the work raises at this file's lines (and autograd.grad at
  -- them too); re-raised at the caller's. An error raised by fn propagates as it was.
  -- grad mode is on inside, as PyTorch's (torch.enable_grad): called under no_grad (as
  -- gradcheck calls its function) they still differentiate fn.
  for name, work in pairs(functional) do
    local function with_grad(...) return tg.enable_grad(work, ...) end
    functional[name] = tg._entry(with_grad, true)
  end

  return functional
end
