-- tgrad.nn.functional (alias tg.F): losses and activations as functions.
return function(tg)
  local F = {}

  --- binary_cross_entropy_with_logits(input, target, {weight=, pos_weight=, reduction="mean"})
  F.binary_cross_entropy_with_logits = tg._bce_with_logits

  --- mse_loss(input, target, {reduction="mean"})
  F.mse_loss = tg._mse_loss

  F.relu = tg.relu
  F.sigmoid = tg.sigmoid
  F.tanh = tg.tanh
  return F
end
