-- tgrad.nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector,
-- vector_to_parameters (torch.nn.utils), untracked, on .grad in place.
return function(tg)
  local utils = {}
  local is_tensor = tg.is_tensor

  -- a tensor or a list of tensors -> a list
  local function as_list(params, fname)
    if is_tensor(params) then return {params} end
    if type(params) ~= "table" then
      error(("%s(): parameters must be a tensor or a list of tensors, got %s"):format(fname, type(params)), 3)
    end
    local out = {}
    for i, p in ipairs(params) do
      if not is_tensor(p) then
        error(("%s(): element %d of parameters is a %s, not a tensor"):format(fname, i, type(p)), 3)
      end
      out[i] = p
    end
    return out
  end

  local function grads_of(params)
    local gs = {}
    for _, p in ipairs(params) do
      local g = p.grad
      if g ~= nil then gs[#gs + 1] = g end
    end
    return gs
  end

  local function is_inf(v) return v == math.huge or v == "inf" end

  --- clip_grad_norm_(parameters, max_norm [, {norm_type = 2, error_if_nonfinite = false}]):
  -- scales the gradients so that their joint norm is at most max_norm; returns the
  -- norm before clipping (a 0-d tensor)
  function utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)
    local params = as_list(parameters, "clip_grad_norm_")
    if type(norm_type) == "table" then
      error_if_nonfinite = norm_type.error_if_nonfinite
      norm_type = norm_type.norm_type
    end
    norm_type = norm_type or 2.0
    if norm_type == "inf" then norm_type = math.huge end
    local grads = grads_of(params)
    if #grads == 0 then return tg.tensor(0.0) end
    return tg.no_grad(function()
      local norms = {}
      for i, g in ipairs(grads) do
        if is_inf(norm_type) then norms[i] = g:abs():amax()
        else norms[i] = g:norm(norm_type) end
      end
      local stacked = tg.stack(norms)
      local total = is_inf(norm_type) and stacked:amax() or stacked:norm(norm_type)
      -- the value is read only for the check (as PyTorch): a captured step (tg.capture) may clip
      local tv = error_if_nonfinite and total:item()
      if tv and (tv ~= tv or tv == math.huge or tv == -math.huge) then
        error(("The total norm of order %s for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
          :format(tostring(norm_type == math.huge and "inf" or norm_type + 0.0)), 0)
      end
      local coef = (total + 1e-6):reciprocal() * max_norm
      local clamped = coef:clamp(nil, 1.0)
      for _, g in ipairs(grads) do g:mul_(clamped) end
      return total
    end)
  end
  utils.clip_grad_norm_ = tg._entry(utils.clip_grad_norm_)

  --- clip_grad_value_(parameters, clip_value): each gradient clamped to [-clip_value, clip_value]
  function utils.clip_grad_value_(parameters, clip_value)
    local params = as_list(parameters, "clip_grad_value_")
    if type(clip_value) ~= "number" then error("clip_grad_value_(): clip_value must be a number", 2) end
    tg.no_grad(function()
      for _, g in ipairs(grads_of(params)) do g:clamp_(-clip_value, clip_value) end
    end)
  end

  --- parameters_to_vector(parameters): one 1-D tensor of every parameter's values (tracked, as PyTorch)
  function utils.parameters_to_vector(parameters)
    local params = as_list(parameters, "parameters_to_vector")
    local flat = {}
    for i, p in ipairs(params) do flat[i] = p:reshape(-1) end
    return tg.cat(flat, 1)
  end

  --- vector_to_parameters(vec, parameters): each parameter's data becomes its slice of vec (shared storage)
  function utils.vector_to_parameters(vec, parameters)
    if not is_tensor(vec) then error(("expected torch.Tensor, but got: %s"):format(type(vec)), 2) end
    local params = as_list(parameters, "vector_to_parameters")
    local total = 0
    for _, p in ipairs(params) do total = total + p:numel() end
    if vec:dim() ~= 1 or vec:numel() ~= total then
      error(("vector_to_parameters(): vec has %d elements, the parameters have %d"):format(vec:numel(), total), 2)
    end
    local off = 1
    for _, p in ipairs(params) do
      local n = p:numel()
      p.data = vec:detach():narrow(1, off, n):view(p.shape)
      off = off + n
    end
  end

  return utils
end
