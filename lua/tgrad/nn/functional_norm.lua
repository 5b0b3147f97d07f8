-- tgrad.nn.functional_norm: the normalisation layers and embedding of tg.F,
-- fused C kernels (src/ops/norm.c, src/ops/embedding.c) published here.
-- Argument order as torch.nn.functional; weight and bias also go positionally.
return function(tg, F)
  --- batch_norm(input, running_mean, running_var [, weight [, bias]] [, {weight=, bias=, training=false,
  --  momentum=0.1, eps=1e-5}])
  -- input (N, C), (N, C, L), (N, C, H, W)...: statistics over every dim but dim 2 (channels).
  -- training: batch statistics; running_mean / running_var (may be nil) are updated in place:
  -- (1 - momentum) * running + momentum * batch statistic (the variance unbiased).
  -- evaluation (training=false): the running statistics, which must be given.
  F.batch_norm = tg._batch_norm

  --- layer_norm(input, normalized_shape [, weight [, bias]] [, {weight=, bias=, eps=1e-5}])
  -- normalized_shape: a number or a table, the trailing sizes of input normalised over
  F.layer_norm = tg._layer_norm

  --- group_norm(input, num_groups [, weight [, bias]] [, {weight=, bias=, eps=1e-5}])
  -- input (N, C, *): channels split in num_groups groups; weight and bias per channel
  F.group_norm = tg._group_norm

  --- embedding(input, weight [, {padding_idx=, max_norm=, norm_type=2, scale_grad_by_freq=false}])
  -- input: int64 1-based ids of any shape; weight (num_embeddings, embedding_dim).
  -- padding_idx is 1-based (negative counts from the end): its row gets no gradient.
  -- max_norm: the rows referenced by input whose norm_type-norm exceeds max_norm are
  -- rescaled in place (no autograd) before the lookup, as PyTorch.
  F.embedding = tg._embedding

  local INSTANCE_KEYS = {running_mean = true, running_var = true, weight = true, bias = true,
                         use_input_stats = true, momentum = true, eps = true}
  local function instance_norm(x, ...)
    local args = table.pack(...)
    local opts = {}
    if args.n > 0 and type(args[args.n]) == "table" and not tg.is_tensor(args[args.n]) then
      opts = args[args.n]
      args[args.n] = nil
      args.n = args.n - 1
    end
    for k in pairs(opts) do
      if not INSTANCE_KEYS[k] then error(("instance_norm() got an unexpected keyword argument '%s'"):format(tostring(k))) end
    end
    local names = {"running_mean", "running_var", "weight", "bias"}
    local v = {}
    for i, name in ipairs(names) do
      if args[i] ~= nil and opts[name] ~= nil then
        error(("instance_norm() got multiple values for argument '%s'"):format(name))
      end
      v[i] = args[i]
      if v[i] == nil then v[i] = opts[name] end
    end
    local rm, rv, w, b = v[1], v[2], v[3], v[4]
    local use_input_stats = opts.use_input_stats ~= false
    if not tg.is_tensor(x) then error("instance_norm(): argument 'input' must be a Tensor") end
    local shape = x.shape
    if #shape < 2 then
      error(("Dimension out of range (expected to be in range of [-%d, %d], but got 2)"):format(math.max(#shape, 1), math.max(#shape, 1)))
    end
    if use_input_stats then
      local spatial = 1
      for i = 3, #shape do spatial = spatial * shape[i] end
      if spatial == 1 then
        error(("Expected more than 1 spatial element when training, got input size [%s]"):format(table.concat(shape, ", ")))
      end
    elseif rm == nil or rv == nil then
      error("Expected running_mean and running_var to be defined when use_input_stats is false")
    end
    -- batch norm of x viewed as (1, N * C, *), the per-channel tensors repeated per sample
    local n, c = shape[1], shape[2]
    local vshape = {1, n * c}
    for i = 3, #shape do vshape[#vshape + 1] = shape[i] end
    local rm_ = rm and rm:tile(n)
    local rv_ = rv and rv:tile(n)
    local out = tg._batch_norm(x:contiguous():view(vshape), rm_, rv_,
      {weight = w and w:tile(n), bias = b and b:tile(n), training = use_input_stats,
       momentum = opts.momentum, eps = opts.eps})
    -- the running statistics: the mean over the samples of the updated copies
    if use_input_stats then
      tg.no_grad(function()
        if rm then rm:copy_(rm_:view(n, c):mean(1)) end
        if rv then rv:copy_(rv_:view(n, c):mean(1)) end
      end)
    end
    return out:view(shape)
  end

  --- instance_norm(input [, running_mean [, running_var [, weight [, bias]]]] [, {running_mean=, running_var=,
  --  weight=, bias=, use_input_stats=true, momentum=0.1, eps=1e-5}])
  -- input (N, C, *): each sample's channel normalised over its spatial dims (batch norm of
  -- the input viewed as (1, N * C, *), as PyTorch); running statistics averaged over the samples.
  F.instance_norm = tg._entry(instance_norm)
end
