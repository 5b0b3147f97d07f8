-- tgrad.nn.functional_nnlua: the parts of tg.F written in Lua over existing
-- differentiable ops: linear, bilinear, dropout, dropout2d, one_hot, normalize,
-- cosine_similarity, and the activations composed of other ops (softsign,
-- tanhshrink, softmin); the others are core ops (functional_act.lua).
return function(tg, F)
  local is_tensor = tg.is_tensor

  local function need_tensor(x, fname, argname)
    if not is_tensor(x) then
      error(("%s(): argument '%s' must be Tensor, not %s"):format(fname, argname or "input", type(x)), 3)
    end
  end

  local function check_opts(opts, fname, allowed)
    if opts == nil then return {} end
    if type(opts) ~= "table" or is_tensor(opts) then
      error(("%s(): options must be a table, got %s"):format(fname, type(opts)), 3)
    end
    for k in pairs(opts) do
      if not allowed[k] then
        error(("%s() got an unexpected keyword argument '%s'"):format(fname, tostring(k)), 3)
      end
    end
    return opts
  end

  local function shape_str(s)
    local p = {}
    for i, v in ipairs(s) do p[i] = tostring(v) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  ------------------------------------------------------------ linear
  --- linear(x, w [, b]): x w^T + b; a 2-D x with bias is one addmm (AddmmBackward0),
  -- more dims go through a 2-D view of x
  function F.linear(x, w, b)
    need_tensor(x, "linear", "input")
    need_tensor(w, "linear", "weight")
    if b ~= nil then need_tensor(b, "linear", "bias") end
    local nd = x:dim()
    if w:dim() ~= 2 and not (w:dim() == 1) then
      error(("linear(): weight must be 1-D or 2-D, got %d-D"):format(w:dim()), 2)
    end
    local in_f = x.shape[nd]
    if nd == 0 or (w:dim() == 2 and w.shape[2] ~= in_f) or (w:dim() == 1 and w.shape[1] ~= in_f) then
      local rows = 1
      for i = 1, nd - 1 do rows = rows * x.shape[i] end
      local ws = w.shape
      error(("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)")
        :format(nd == 0 and 1 or rows, nd == 0 and 1 or in_f, ws[2] or ws[1], ws[2] and ws[1] or 1), 2)
    end
    if nd == 1 and w:dim() == 2 and b ~= nil and b:dim() == 1 then -- PyTorch: addmm, _unsafe_view
      return tg._unsafe_view(tg.addmm(b, x:view(1, in_f), w:t()), {w.shape[1]})
    end
    if w:dim() == 1 or nd == 1 then
      local y = tg.matmul(x, w:dim() == 2 and w:t() or w)
      if b ~= nil then y = y + b end
      return y
    end
    if nd == 2 then
      if b ~= nil then return tg.addmm(b, x, w:t()) end
      return tg.mm(x, w:t())
    end
    -- more dims: PyTorch's grad_fn is UnsafeViewBackward0 (over addmm, or over mm without bias)
    if b == nil or b:dim() ~= 1 then
      local y = tg.matmul(x, w:t())
      if b ~= nil then y = y + b end
      return y
    end
    local lead = {}
    for i = 1, nd - 1 do lead[i] = x.shape[i] end
    local y = tg.addmm(b, x:reshape(-1, in_f), w:t())
    lead[nd] = w.shape[1]
    return tg._unsafe_view(y, lead)
  end

  --- bilinear(x1, x2, w [, b]): y_k = x1^T w_k x2 + b_k; x1 (*, in1), x2 (*, in2), w (out, in1, in2)
  function F.bilinear(x1, x2, w, b)
    need_tensor(x1, "bilinear", "input1")
    need_tensor(x2, "bilinear", "input2")
    need_tensor(w, "bilinear", "weight")
    if w:dim() ~= 3 then
      error(("bilinear(): weight must be three-dimensional, got %d-D"):format(w:dim()), 2)
    end
    if x1:dim() ~= x2:dim() then
      error(("bilinear(): input dimensions do not match: got %d and %d"):format(x1:dim(), x2:dim()), 2)
    end
    for d = 1, x1:dim() - 1 do
      if x1.shape[d] ~= x2.shape[d] then
        error(("bilinear(): input batch dimensions do not match: got %s and %s")
          :format(shape_str(x1.shape), shape_str(x2.shape)), 2)
      end
    end
    local o, i1, i2 = w.shape[1], w.shape[2], w.shape[3]
    if x1.shape[x1:dim()] ~= i1 then
      error(("bilinear(): input1 size does not match weight size: got %d but expected %d")
        :format(x1.shape[x1:dim()], i1), 2)
    end
    if x2.shape[x2:dim()] ~= i2 then
      error(("bilinear(): input2 size does not match weight size: got %d but expected %d")
        :format(x2.shape[x2:dim()], i2), 2)
    end
    if b ~= nil and (b:dim() ~= 1 or b.shape[1] ~= o) then
      error(("bilinear(): bias size does not match weight size: got %d but expected %d")
        :format(b:dim() == 1 and b.shape[1] or b:numel(), o), 2)
    end
    local lead = {}
    for d = 1, x1:dim() - 1 do lead[d] = x1.shape[d] end
    local a = x1:reshape(-1, i1)
    local c = x2:reshape(-1, i2)
    local n = a.shape[1]
    -- (n, i1) @ (i1, o * i2) -> (n, o, i2), times x2 over i2
    local t = tg.mm(a, w:permute(2, 1, 3):reshape(i1, o * i2)):view(n, o, i2)
    local y = (t * c:unsqueeze(2)):sum(3)
    lead[#lead + 1] = o
    y = y:reshape(lead)
    if b ~= nil then y = y + b end -- PyTorch adds the bias last (AddBackward0)
    return y
  end

  ------------------------------------------------------------ dropout
  local function dropout_impl(fname, x, opts, noise_shape)
    local p = opts.p
    if p == nil then p = 0.5 end
    if type(p) ~= "number" or p < 0 or p > 1 then
      error(("dropout probability has to be between 0 and 1, but got %s"):format(tostring(p)), 3)
    end
    local training = opts.training
    if training == nil then training = true end
    if not training or p == 0 or x:numel() == 0 then return x end
    if p == 1 then
      if opts.inplace then return x:mul_(0) end
      return x * tg.zeros({}, {dtype = x.dtype})
    end
    local noise = tg.rand(noise_shape or x.shape, {dtype = x.dtype}):lt(1 - p):to(x.dtype):div(1 - p)
    if opts.inplace then return x:mul_(noise) end
    return x * noise
  end

  local DROP_OPTS = {p = true, training = true, inplace = true}
  local function drop_opts(fname, p, training, inplace)
    if type(p) == "table" then return check_opts(p, fname, DROP_OPTS) end
    return {p = p, training = training, inplace = inplace}
  end

  --- dropout(x [, {p = 0.5, training = true, inplace = false}]) (or positional p, training, inplace):
  -- each element zeroed with probability p (the state's generator), the rest
  -- scaled by 1/(1-p); returns x itself when not training or p = 0
  function F.dropout(x, p, training, inplace)
    need_tensor(x, "dropout")
    return dropout_impl("dropout", x, drop_opts("dropout", p, training, inplace))
  end

  --- dropout2d(x [, opts]): whole channels zeroed; x (N, C, H, W), or (N, C, L) for a 3-D x
  -- (as PyTorch, which only warns about that and other dims)
  function F.dropout2d(x, p, training, inplace)
    need_tensor(x, "dropout2d")
    local opts = drop_opts("dropout2d", p, training, inplace)
    local nd = x:dim()
    -- PyTorch only warns for other dims (deprecated) and drops channels all the same
    if nd < 2 then error("Feature dropout requires at least 2 dimensions in the input", 2) end
    local ns = {x.shape[1], x.shape[2]}
    for i = 3, nd do ns[i] = 1 end
    return dropout_impl("dropout2d", x, opts, ns)
  end

  --- dropout1d(x [, opts]): whole channels of (N, C, L) or (C, L)
  function F.dropout1d(x, p, training, inplace)
    need_tensor(x, "dropout1d")
    local opts = drop_opts("dropout1d", p, training, inplace)
    local nd = x:dim()
    if nd ~= 2 and nd ~= 3 then
      error(("dropout1d: Expected 2D or 3D input, but received a %dD input. Note that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."):format(nd), 2)
    end
    local ns
    if nd == 3 then ns = {x.shape[1], x.shape[2], 1} else ns = {x.shape[1], 1} end
    return dropout_impl("dropout1d", x, opts, ns)
  end

  --- alpha_dropout is not provided; feature_alpha_dropout neither.

  ------------------------------------------------------------ one_hot, normalize, cosine_similarity
  --- one_hot(t [, num_classes = -1]): 1-based int64 class ids -> int64 (*, num_classes)
  -- (num_classes -1: the largest id)
  function F.one_hot(t, num_classes)
    need_tensor(t, "one_hot", "input")
    if type(num_classes) == "table" then num_classes = num_classes.num_classes end
    num_classes = num_classes or -1
    if t.dtype ~= tg.int64 then
      error("one_hot is only applicable to index tensor of type LongTensor.", 2)
    end
    if t:numel() == 0 then
      if num_classes == -1 then error("Can not infer total number of classes from empty tensor.", 2) end
    else
      if t:min():item() < 1 then error("Class values must be positive (ids are 1-based).", 2) end
      local mx = t:max():item()
      if num_classes == -1 then num_classes = mx
      elseif mx > num_classes then error("Class values must be smaller than num_classes.", 2) end
    end
    local shape = {}
    for i, s in ipairs(t.shape) do shape[i] = s end
    shape[#shape + 1] = num_classes
    local out = tg.zeros(shape, {dtype = tg.int64})
    if t:numel() == 0 then return out end
    return out:scatter(-1, t:unsqueeze(-1), 1)
  end

  local NORM_OPTS = {p = true, dim = true, eps = true}
  --- normalize(x [, {p = 2, dim = 2, eps = 1e-12}]): x / max(||x||_p over dim, eps)
  function F.normalize(x, opts)
    need_tensor(x, "normalize")
    opts = check_opts(opts, "normalize", NORM_OPTS)
    local p, dim, eps = opts.p or 2.0, opts.dim or 2, opts.eps or 1e-12
    if x:dim() == 0 then dim = 1 end
    local den = x:norm(p, dim, {keepdim = true}):clamp(eps)
    return x / den:expand_as(x)
  end

  local COS_OPTS = {dim = true, eps = true}
  --- cosine_similarity(x1, x2 [, {dim = 2, eps = 1e-8}]) or (x1, x2, dim [, eps]): broadcasting, as PyTorch
  -- (each input divided by its norm, clamped to eps, then the dot product over dim)
  function F.cosine_similarity(x1, x2, opts, eps)
    need_tensor(x1, "cosine_similarity", "x1")
    need_tensor(x2, "cosine_similarity", "x2")
    if type(opts) == "number" then opts = {dim = opts, eps = eps} end  -- PyTorch's positional (dim, eps)
    opts = check_opts(opts, "cosine_similarity", COS_OPTS)
    local dim, eps = opts.dim or 2, opts.eps or 1e-8
    -- PyTorch broadcasts the inputs before taking their norms
    local shape = {}
    local d1, d2 = x1:dim(), x2:dim()
    local nd = math.max(d1, d2)
    for i = 1, nd do
      local a = x1.shape[i - (nd - d1)] or 1
      local b = x2.shape[i - (nd - d2)] or 1
      if a ~= b and a ~= 1 and b ~= 1 then
        error(("The size of tensor a (%d) must match the size of tensor b (%d) at non-singleton dimension %d")
          :format(a, b, i), 2)
      end
      shape[i] = a == 1 and b or a
    end
    x1, x2 = x1:expand(shape), x2:expand(shape)
    local n1 = x1:norm(2, dim, {keepdim = true}):clamp(eps)
    local n2 = x2:norm(2, dim, {keepdim = true}):clamp(eps)
    return ((x1 / n1) * (x2 / n2)):sum(dim)
  end

  --- pairwise_distance(x1, x2 [, {p = 2, eps = 1e-6, keepdim = false}]): ||x1 - x2 + eps||_p over the last dim
  function F.pairwise_distance(x1, x2, opts)
    need_tensor(x1, "pairwise_distance", "x1")
    need_tensor(x2, "pairwise_distance", "x2")
    opts = check_opts(opts, "pairwise_distance", {p = true, eps = true, keepdim = true})
    local p, eps = opts.p or 2.0, opts.eps or 1e-6
    local d = x1 - x2 + eps
    return d:norm(p, -1, {keepdim = opts.keepdim or false})
  end

  ------------------------------------------------------------ activations
  -- f(x, a, b, ..., inplace) or f(x, {name = v, inplace = b}) -> values in the order of names
  local function act_args(fname, names, defaults, x, ...)
    need_tensor(x, fname)
    local first = ...
    local vals = {}
    if type(first) == "table" and not is_tensor(first) then
      local allowed = {inplace = true}
      for _, n in ipairs(names) do allowed[n] = true end
      check_opts(first, fname, allowed)
      for i, n in ipairs(names) do vals[i] = first[n] end
      vals.inplace = first.inplace
    else
      local args = table.pack(...)
      for i = 1, #names do vals[i] = args[i] end
      vals.inplace = args[#names + 1]
    end
    for i = 1, #names do if vals[i] == nil then vals[i] = defaults[i] end end
    return vals
  end

  -- only where neither tg.F nor the core has the function (a C version wins)
  local function define(name, fn)
    if F[name] == nil and tg[name] == nil then F[name] = fn end
  end

  -- act: elu, selu, celu, leaky_relu, hardtanh, relu6, hardswish, hardsigmoid, mish, logsigmoid
  -- are core ops with PyTorch's grad_fn names (functional_act.lua)
  require("tgrad.nn.functional_act")(tg, F, act_args)

  --- softsign(x) = x / (1 + |x|); tanhshrink(x) = x - tanh(x)
  define("softsign", function(x)
    need_tensor(x, "softsign")
    return x / (x:abs() + 1)
  end)
  define("tanhshrink", function(x)
    need_tensor(x, "tanhshrink")
    return x - tg.tanh(x)
  end)

  --- softmin(x, dim) = softmax(-x, dim)
  define("softmin", function(x, dim, opts)
    need_tensor(x, "softmin")
    if opts == nil then return tg.softmax(-x, dim) end
    return tg.softmax(-x, dim, opts)
  end)

  -- entry points: errors (also those of the ops inside) name the caller's line
  for _, name in ipairs({"linear", "bilinear", "dropout", "dropout1d", "dropout2d", "one_hot", "normalize",
                         "cosine_similarity", "pairwise_distance", "softsign", "tanhshrink", "softmin"}) do
    local f = F[name]
    if f and tg[name] == nil then F[name] = tg._entry(f) end
  end

  -- tiny: linear's common case (2-D input, 2-D weight, 1-D bias or none; one dtype
  -- and device) is one C call with the same core ops (binding/nn_fast.c); anything
  -- else (other shapes, errors) takes the entry point above, by a tail call, so its
  -- errors still name the caller's line
  local linear_fast, linear_lua = tg._nn_linear, F.linear
  F.linear = function(x, w, b, ...)
    local y = linear_fast(x, w, b, ...)
    if y then return y end
    return linear_lua(x, w, b, ...)
  end

  --- relu(x [, inplace]) with the inplace flag PyTorch's F.relu takes
  local core_relu = tg.relu
  F.relu = function(x, inplace)
    if not inplace then return core_relu(x) end -- (tiny: no type() call on the common path)
    if type(inplace) == "table" then inplace = inplace.inplace end
    if inplace then return x:relu_() end
    return core_relu(x)
  end
end
