-- tgrad.nn.loss: the loss modules over tg.F's losses; forward(input, target).
-- Options as PyTorch's keyword arguments ({reduction = "sum", weight = w, ...});
-- weight / pos_weight are buffers (moved by to(), as PyTorch's).
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local F = tg.F
  local Module = nn.Module

  local REDUCTIONS = {mean = true, sum = true, none = true}

  -- spec: {{name, default}, ...} after the common ones; buffers: names registered as buffers
  local function make(name, fname, spec, buffers, extra_reductions)
    local C = Module:extend(name)
    nn[name] = C
    function C:__init(...)
      local o = A.parse(name, spec, ...)
      local red = o.reduction
      if not REDUCTIONS[red] and not (extra_reductions and extra_reductions[red]) then
        error(("%s is not a valid value for reduction"):format(tostring(red)), 2)
      end
      local keys = {}
      for _, s in ipairs(spec) do
        if buffers and buffers[s[1]] then
          self:register_buffer(s[1], o[s[1]])
        else
          self[s[1]] = o[s[1]]
        end
        keys[#keys + 1] = s[1]
      end
      self._keys = keys
    end
    function C:forward(input, target)
      local opts = {}
      for _, k in ipairs(self._keys) do opts[k] = self[k] end
      return F[fname](input, target, opts)
    end
    return C
  end

  make("L1Loss", "l1_loss", {{"reduction", "mean"}})
  make("MSELoss", "mse_loss", {{"reduction", "mean"}})
  make("SmoothL1Loss", "smooth_l1_loss", {{"reduction", "mean"}, {"beta", 1.0}})
  make("HuberLoss", "huber_loss", {{"reduction", "mean"}, {"delta", 1.0}})
  make("BCELoss", "binary_cross_entropy", {{"weight"}, {"reduction", "mean"}}, {weight = true})
  make("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
       {{"weight"}, {"reduction", "mean"}, {"pos_weight"}}, {weight = true, pos_weight = true})
  make("NLLLoss", "nll_loss", {{"weight"}, {"ignore_index", -100}, {"reduction", "mean"}}, {weight = true})
  make("CrossEntropyLoss", "cross_entropy",
       {{"weight"}, {"ignore_index", -100}, {"reduction", "mean"}, {"label_smoothing", 0.0}}, {weight = true})
  make("KLDivLoss", "kl_div", {{"reduction", "mean"}, {"log_target", false}}, nil, {batchmean = true})
end
