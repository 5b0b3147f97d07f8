-- tgrad.nn.functional (alias tg.F): losses and activations as functions.
-- Every loss is f(input, target [, opts]) with opts.reduction = "mean" (default),
-- "sum" or "none", as torch.nn.functional. Class ids are 1-based.
return function(tg)
  local F = {}
  require("tgrad.nn.functional_nnlua")(tg, F)   -- linear, dropout, ..., activations in Lua (helper: nnlua)

  --- softmax(input, dim [, {dtype=}]), log_softmax(input, dim [, {dtype=}])
  F.softmax = tg.softmax
  F.log_softmax = tg.log_softmax

  --- binary_cross_entropy_with_logits(input, target, {weight=, pos_weight=, reduction="mean"})
  F.binary_cross_entropy_with_logits = tg._bce_with_logits

  --- binary_cross_entropy(input, target, {weight=, reduction="mean"}); input in [0, 1]
  F.binary_cross_entropy = tg._binary_cross_entropy

  --- mse_loss(input, target, {reduction="mean"})
  F.mse_loss = tg._mse_loss

  --- l1_loss(input, target, {reduction="mean"})
  F.l1_loss = tg._l1_loss

  --- smooth_l1_loss(input, target, {beta=1.0, reduction="mean"})
  F.smooth_l1_loss = tg._smooth_l1_loss

  --- huber_loss(input, target, {delta=1.0, reduction="mean"})
  F.huber_loss = tg._huber_loss

  --- nll_loss(input, target, {weight=, ignore_index=-100, reduction="mean"})
  -- input (N, C), (N, C, d1, ...) or (C) of log-probabilities; target int64 1-based class ids
  F.nll_loss = tg._nll_loss

  --- cross_entropy(input, target, {weight=, ignore_index=-100, label_smoothing=0.0, reduction="mean"})
  -- target: int64 1-based class ids, or class probabilities of the input's shape
  F.cross_entropy = tg._cross_entropy

  --- kl_div(input, target, {reduction="mean", log_target=false}); reduction may also be "batchmean"
  F.kl_div = tg._kl_div

  -- activations: the core's functions (options tables as in tg.gelu(x, {approximate = "tanh"}))
  for _, name in ipairs({"relu", "sigmoid", "tanh", "gelu", "silu", "softplus", "elu", "leaky_relu",
                         "hardtanh", "relu6", "logsigmoid", "mish", "softsign"}) do
    F[name] = F[name] or tg[name]
  end
  require("tgrad.nn.functional_norm")(tg, F) -- norm: batch/layer/group/instance_norm, embedding
  require("tgrad.nn.functional_conv")(tg, F) -- helper conv: conv1d/2d, conv_transpose1d/2d
  require("tgrad.nn.functional_pool")(tg, F) -- pooling, padding, resizing (helper pool)
  return F
end
