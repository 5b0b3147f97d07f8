-- tgrad.nn.attention: MultiheadAttention as torch.nn's (parameter names
-- in_proj_weight / q_proj_weight ..., out_proj, xavier initialisation), with
-- attn_mask (2-D or 3-D, bool or float), key_padding_mask, need_weights,
-- average_attn_weights, batch_first, kdim / vdim and dropout on the weights.
--   local out, weights = mha(query, key, value [, {key_padding_mask, need_weights = true,
--                            attn_mask, average_attn_weights = true}])
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local F, init = tg.F, nn.init
  local Module = nn.Module
  local empty_param = nn._empty_param

  -- the out_proj layer's class name in PyTorch
  local NDQLinear = nn.Linear:extend("NonDynamicallyQuantizableLinear")
  nn.NonDynamicallyQuantizableLinear = NDQLinear

  local function shape_str(s)
    local p = {}
    for i, v in ipairs(s) do p[i] = tostring(v) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  --- MultiheadAttention(embed_dim, num_heads [, dropout = 0, bias = true, add_bias_kv = false,
  --- add_zero_attn = false, kdim, vdim, batch_first = false])
  local MHA = Module:extend("MultiheadAttention")
  nn.MultiheadAttention = MHA
  function MHA:__init(...)
    local o = A.parse("MultiheadAttention", {{"embed_dim", A.REQUIRED}, {"num_heads", A.REQUIRED}, {"dropout", 0.0},
      {"bias", true}, {"add_bias_kv", false}, {"add_zero_attn", false}, {"kdim"}, {"vdim"}, {"batch_first", false},
      {"device"}, {"dtype"}}, ...)
    local E, H = o.embed_dim, o.num_heads
    if math.type(E) ~= "integer" or E <= 0 or math.type(H) ~= "integer" or H <= 0 then
      error(("embed_dim and num_heads must be greater than 0, got embed_dim=%s and num_heads=%s instead")
        :format(tostring(E), tostring(H)), 2)
    end
    if E % H ~= 0 then error("embed_dim must be divisible by num_heads", 2) end
    if o.add_bias_kv or o.add_zero_attn then
      error("MultiheadAttention: add_bias_kv and add_zero_attn are not supported by tgrad", 2)
    end
    self.embed_dim, self.num_heads, self.dropout, self.batch_first = E, H, o.dropout, o.batch_first
    self.kdim, self.vdim = o.kdim or E, o.vdim or E
    self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
    self.head_dim = E // H
    if not self._qkv_same_embed_dim then
      self.q_proj_weight = empty_param({E, E}, o)
      self.k_proj_weight = empty_param({E, self.kdim}, o)
      self.v_proj_weight = empty_param({E, self.vdim}, o)
      self:register_parameter("in_proj_weight", nil)
    else
      self.in_proj_weight = empty_param({3 * E, E}, o)
      self:register_parameter("q_proj_weight", nil)
      self:register_parameter("k_proj_weight", nil)
      self:register_parameter("v_proj_weight", nil)
    end
    if o.bias then self.in_proj_bias = empty_param({3 * E}, o) else self:register_parameter("in_proj_bias", nil) end
    self.out_proj = NDQLinear(E, E, {bias = o.bias, dtype = o.dtype, device = o.device})
    self.add_zero_attn = false
    self:_reset_parameters()
  end

  function MHA:_reset_parameters()
    if self._qkv_same_embed_dim then
      init.xavier_uniform_(self.in_proj_weight)
    else
      init.xavier_uniform_(self.q_proj_weight)
      init.xavier_uniform_(self.k_proj_weight)
      init.xavier_uniform_(self.v_proj_weight)
    end
    if self.in_proj_bias ~= nil then
      init.constant_(self.in_proj_bias, 0.0)
      init.constant_(self.out_proj.bias, 0.0)
    end
  end

  -- a bool mask (true = not allowed) as -inf / 0 in the given dtype; a float mask as it is
  local function float_mask(m, dtype, name)
    if m == nil then return nil end
    if not tg.is_tensor(m) then error(("%s must be a tensor"):format(name), 4) end
    if m.dtype == tg.bool then
      return tg.zeros(m.shape, {dtype = dtype}):masked_fill(m, -math.huge)
    end
    if not m:is_floating_point() then
      error(("only bool and floating types of %s are supported"):format(name), 4)
    end
    return m
  end

  local OPTS = {key_padding_mask = true, need_weights = true, attn_mask = true, average_attn_weights = true,
                is_causal = true}

  function MHA:forward(query, key, value, opts)
    opts = opts or {}
    for k in pairs(opts) do
      if not OPTS[k] then error(("forward() got an unexpected keyword argument '%s'"):format(tostring(k)), 2) end
    end
    local need_weights = opts.need_weights ~= false
    local average = opts.average_attn_weights ~= false
    if opts.is_causal and opts.attn_mask == nil then
      error("Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
        .. "`generate_square_subsequent_mask` to create this mask.", 2)
    end
    local batched = query:dim() == 3
    if not batched and query:dim() ~= 2 then
      error(("query should be unbatched 2D or batched 3D tensor but received %dD query tensor"):format(query:dim()), 2)
    end
    if key:dim() ~= query:dim() or value:dim() ~= query:dim() then
      error(("For %s query, expected `key` and `value` to be %s, but received %dD and %dD tensors respectively")
        :format(batched and "batched (3-D)" or "unbatched (2-D)", batched and "3-D" or "2-D", key:dim(), value:dim()), 2)
    end
    local q_in, k_in, v_in = query, key, value
    if not batched then
      q_in, k_in, v_in = q_in:unsqueeze(2), k_in:unsqueeze(2), v_in:unsqueeze(2)
    elseif self.batch_first then
      q_in, k_in, v_in = q_in:transpose(1, 2), k_in:transpose(1, 2), v_in:transpose(1, 2)
    end
    local tgt, bsz, E = q_in.shape[1], q_in.shape[2], q_in.shape[3]
    local src = k_in.shape[1]
    if E ~= self.embed_dim then
      error(("was expecting embedding dimension of %d, but got %d"):format(self.embed_dim, E), 2)
    end
    if k_in.shape[1] ~= v_in.shape[1] or k_in.shape[2] ~= v_in.shape[2] then
      error(("key's sequence and batch dims %s do not match value's %s"):format(shape_str({k_in.shape[1], k_in.shape[2]}),
        shape_str({v_in.shape[1], v_in.shape[2]})), 2)
    end
    local H, hd = self.num_heads, self.head_dim
    -- input projections
    local wq, wk, wv
    if self._qkv_same_embed_dim then
      local w = self.in_proj_weight:chunk(3, 1)
      wq, wk, wv = w[1], w[2], w[3]
    else
      wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
    end
    local bq, bk, bv
    if self.in_proj_bias ~= nil then
      local b = self.in_proj_bias:chunk(3, 1)
      bq, bk, bv = b[1], b[2], b[3]
    end
    local q = F.linear(q_in, wq, bq)
    local k = F.linear(k_in, wk, bk)
    local v = F.linear(v_in, wv, bv)
    -- masks, merged into one additive (bsz*H | 1, tgt, src) float mask
    local mask = float_mask(opts.attn_mask, q.dtype, "attn_mask")
    if mask ~= nil then
      if mask:dim() == 2 then
        if mask.shape[1] ~= tgt or mask.shape[2] ~= src then
          error(("The shape of the 2D attn_mask is %s, but should be %s."):format(shape_str(mask.shape),
            shape_str({tgt, src})), 2)
        end
        mask = mask:unsqueeze(1)
      elseif mask:dim() == 3 then
        if mask.shape[1] ~= bsz * H or mask.shape[2] ~= tgt or mask.shape[3] ~= src then
          error(("The shape of the 3D attn_mask is %s, but should be %s."):format(shape_str(mask.shape),
            shape_str({bsz * H, tgt, src})), 2)
        end
      else
        error(("attn_mask's dimension %d is not supported"):format(mask:dim()), 2)
      end
    end
    local kpm = float_mask(opts.key_padding_mask, q.dtype, "key_padding_mask")
    if kpm ~= nil then
      if not batched then kpm = kpm:unsqueeze(1) end
      if kpm.shape[1] ~= bsz or kpm.shape[2] ~= src then
        error(("expecting key_padding_mask shape of %s, but got %s"):format(shape_str({bsz, src}),
          shape_str(kpm.shape)), 2)
      end
      kpm = kpm:view(bsz, 1, 1, src):expand(bsz, H, 1, src):reshape(bsz * H, 1, src)
      mask = mask == nil and kpm or (mask + kpm)
    end
    -- heads: (len, bsz, E) -> (bsz*H, len, hd)
    q = q:reshape(tgt, bsz * H, hd):transpose(1, 2)
    k = k:reshape(src, bsz * H, hd):transpose(1, 2)
    v = v:reshape(src, bsz * H, hd):transpose(1, 2)
    local qs = q * math.sqrt(1.0 / hd)
    local scores
    if mask ~= nil then
      scores = tg.baddbmm(mask, qs, k:transpose(2, 3))
    else
      scores = tg.bmm(qs, k:transpose(2, 3))
    end
    local attn = tg.softmax(scores, -1)
    if self.dropout > 0 and self.training then attn = F.dropout(attn, {p = self.dropout, training = true}) end
    local out = tg.bmm(attn, v)                                   -- (bsz*H, tgt, hd)
    out = out:transpose(1, 2):reshape(tgt * bsz, E)
    out = F.linear(out, self.out_proj.weight, self.out_proj.bias):view(tgt, bsz, E)
    local weights
    if need_weights then
      weights = attn:view(bsz, H, tgt, src)
      if average then weights = weights:mean(2) end
      if not batched then weights = weights:squeeze(1) end
    end
    if not batched then out = out:squeeze(2)
    elseif self.batch_first then out = out:transpose(1, 2) end
    return out, weights
  end
end
