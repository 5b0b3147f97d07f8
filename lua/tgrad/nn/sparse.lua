-- tgrad.nn.sparse: Embedding over tg.F.embedding (1-based ids; padding_idx
-- 1-based, negative from the end), N(0, 1) initialisation with the padding row zero.
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F, init = tg.F, nn.init
  local Module, Parameter = nn.Module, nn.Parameter

  local SPEC = {{"num_embeddings", A.REQUIRED}, {"embedding_dim", A.REQUIRED}, {"padding_idx"}, {"max_norm"},
                {"norm_type", 2.0}, {"scale_grad_by_freq", false}, {"sparse", false}, {"_weight"},
                {"_freeze", false}, {"device"}, {"dtype"}}

  local function norm_padding(padding_idx, n)
    if padding_idx == nil then return nil end
    if padding_idx > 0 then
      if padding_idx > n then error("Padding_idx must be within num_embeddings", 4) end
      return padding_idx
    elseif padding_idx < 0 then
      if padding_idx < -n then error("Padding_idx must be within num_embeddings", 4) end
      return n + padding_idx + 1
    end
    error("Padding_idx must be within num_embeddings (1-based: 0 is not an index)", 4)
  end

  --- Embedding(num_embeddings, embedding_dim [, {padding_idx, max_norm, norm_type = 2,
  --- scale_grad_by_freq = false, _weight, _freeze}])
  local Embedding = Module:extend("Embedding")
  nn.Embedding = Embedding
  function Embedding:__init(...)
    local o = A.parse("Embedding", SPEC, ...)
    if o.sparse then error("Embedding: sparse gradients are not supported by tgrad (sparse=false)", 2) end
    self.num_embeddings, self.embedding_dim = o.num_embeddings, o.embedding_dim
    self.padding_idx = norm_padding(o.padding_idx, o.num_embeddings)
    self.max_norm, self.norm_type, self.scale_grad_by_freq = o.max_norm, o.norm_type, o.scale_grad_by_freq
    self.sparse = false
    if o._weight == nil then
      self.weight = Parameter(tg.empty({o.num_embeddings, o.embedding_dim}, nn._topts(o)),
                              not o._freeze)
      self:reset_parameters()
    else
      local s = o._weight.shape
      if #s ~= 2 or s[1] ~= o.num_embeddings or s[2] ~= o.embedding_dim then
        error("Shape of weight does not match num_embeddings and embedding_dim", 2)
      end
      self.weight = Parameter(o._weight, not o._freeze)
    end
  end
  function Embedding:reset_parameters()
    init.normal_(self.weight)
    self:_fill_padding_idx_with_zero()
  end
  function Embedding:_fill_padding_idx_with_zero()
    if self.padding_idx ~= nil then
      tg.no_grad(function() self.weight[self.padding_idx]:fill_(0) end)
    end
  end
  function Embedding:forward(input)
    return F.embedding(input, self.weight, {padding_idx = self.padding_idx, max_norm = self.max_norm,
      norm_type = self.norm_type, scale_grad_by_freq = self.scale_grad_by_freq})
  end
  function Embedding:extra_repr()
    local s = ("%d, %d"):format(self.num_embeddings, self.embedding_dim)
    if self.padding_idx ~= nil then s = s .. ", padding_idx=" .. R.repr(self.padding_idx) end
    if self.max_norm ~= nil then s = s .. ", max_norm=" .. R.repr(self.max_norm) end
    if self.norm_type ~= 2 then s = s .. ", norm_type=" .. R.repr(self.norm_type) end
    if self.scale_grad_by_freq then s = s .. ", scale_grad_by_freq=True" end
    return s
  end

  --- Embedding.from_pretrained(embeddings [, {freeze = true, padding_idx, max_norm, norm_type,
  --- scale_grad_by_freq}]): the rows of a 2-D tensor (the weight shares its storage)
  function Embedding.from_pretrained(embeddings, opts)
    if Embedding == embeddings then error("use Embedding.from_pretrained(t, opts), not Embedding:from_pretrained", 2) end
    if not tg.is_tensor(embeddings) or embeddings:dim() ~= 2 then
      error("Embeddings parameter is expected to be 2-dimensional", 2)
    end
    opts = opts or {}
    local freeze = opts.freeze
    if freeze == nil then freeze = true end
    return Embedding(embeddings.shape[1], embeddings.shape[2], {_weight = embeddings, _freeze = freeze,
      padding_idx = opts.padding_idx, max_norm = opts.max_norm, norm_type = opts.norm_type,
      scale_grad_by_freq = opts.scale_grad_by_freq, sparse = opts.sparse})
  end
end
