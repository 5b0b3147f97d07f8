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
end
