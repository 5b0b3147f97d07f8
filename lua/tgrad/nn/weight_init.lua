-- tgrad.nn.weight_init: tg.nn.init, PyTorch's torch.nn.init. Every function
-- fills its tensor in place without tracking (no_grad), draws from the state's
-- generator (tg.rand / tg.randn) and returns the tensor. Options either
-- positionally as PyTorch's (kaiming_uniform_(w, math.sqrt(5))) or in a table
-- (kaiming_uniform_(w, {a = math.sqrt(5), mode = "fan_out"})).
return function(tg)
  local init = {}
  local sqrt = math.sqrt

  local function check(t, name)
    if not tg.is_tensor(t) then error(("%s(): expected a tensor, got %s"):format(name, type(t)), 3) end
  end

  -- overwrite t's values with src (same shape), untracked
  local function fill_from(t, src)
    tg.no_grad(function() t:copy_(src) end)
    return t
  end

  local function opts_or(a, names, ...)
    -- (t, {k = v}) or (t, v1, v2, ...) -> values in the order of names
    if type(a) == "table" and not tg.is_tensor(a) then
      local out = {}
      for i, n in ipairs(names) do out[i] = a[n] end
      return table.unpack(out, 1, #names)
    end
    return a, ...
  end

  --- calculate_gain(nonlinearity [, param]): PyTorch's recommended gains
  function init.calculate_gain(nonlinearity, param)
    local linear = {linear = true, conv1d = true, conv2d = true, conv3d = true, conv_transpose1d = true,
                    conv_transpose2d = true, conv_transpose3d = true, sigmoid = true}
    if linear[nonlinearity] then return 1
    elseif nonlinearity == "tanh" then return 5.0 / 3
    elseif nonlinearity == "relu" then return sqrt(2.0)
    elseif nonlinearity == "leaky_relu" then
      local slope
      if param == nil then slope = 0.01
      elseif type(param) == "number" then slope = param
      else error(("negative_slope %s not a valid number"):format(tostring(param)), 2) end
      return sqrt(2.0 / (1 + slope ^ 2))
    elseif nonlinearity == "selu" then return 3.0 / 4
    end
    error(("Unsupported nonlinearity %s"):format(tostring(nonlinearity)), 2)
  end

  --- _calculate_fan_in_and_fan_out(t): (fan_in, fan_out) of a weight (dims >= 2)
  function init._calculate_fan_in_and_fan_out(t)
    local s = t.shape
    if #s < 2 then
      error("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", 3)
    end
    local receptive = 1
    for i = 3, #s do receptive = receptive * s[i] end
    return s[2] * receptive, s[1] * receptive
  end

  local function fan(t, mode)
    mode = mode or "fan_in"
    if mode ~= "fan_in" and mode ~= "fan_out" then
      error(("Mode %s not supported, please use one of fan_in, fan_out"):format(tostring(mode)), 4)
    end
    local fi, fo = init._calculate_fan_in_and_fan_out(t)
    return mode == "fan_in" and fi or fo
  end

  local function rand_like(t) return tg.rand(t.shape, {dtype = t.dtype}) end
  local function randn_like(t) return tg.randn(t.shape, {dtype = t.dtype}) end

  --- uniform_(t [, a = 0, b = 1])
  function init.uniform_(t, a, b)
    check(t, "uniform_")
    a, b = opts_or(a, {"a", "b"}, b)
    a, b = a or 0.0, b or 1.0
    if t:numel() == 0 then return t end
    return fill_from(t, rand_like(t) * (b - a) + a)
  end

  --- normal_(t [, mean = 0, std = 1])
  function init.normal_(t, mean, std)
    check(t, "normal_")
    mean, std = opts_or(mean, {"mean", "std"}, std)
    mean, std = mean or 0.0, std or 1.0
    if t:numel() == 0 then return t end
    return fill_from(t, randn_like(t) * std + mean)
  end

  --- constant_(t, val), zeros_(t), ones_(t)
  function init.constant_(t, val)
    check(t, "constant_")
    tg.no_grad(function() t:fill_(val) end)
    return t
  end
  function init.zeros_(t) check(t, "zeros_") tg.no_grad(function() t:zero_() end) return t end
  function init.ones_(t) check(t, "ones_") tg.no_grad(function() t:fill_(1) end) return t end

  --- eye_(t): the identity in a 2-D tensor (ones on the diagonal)
  function init.eye_(t)
    check(t, "eye_")
    if t:dim() ~= 2 then error("Only tensors with 2 dimensions are supported", 2) end
    return fill_from(t, tg.eye(t.shape[1], t.shape[2], {dtype = t.dtype}))
  end

  --- xavier_uniform_(t [, gain = 1]), xavier_normal_(t [, gain = 1])
  function init.xavier_uniform_(t, gain)
    check(t, "xavier_uniform_")
    gain = opts_or(gain, {"gain"})
    local fi, fo = init._calculate_fan_in_and_fan_out(t)
    local std = (gain or 1.0) * sqrt(2.0 / (fi + fo))
    local a = sqrt(3.0) * std
    return init.uniform_(t, -a, a)
  end

  function init.xavier_normal_(t, gain)
    check(t, "xavier_normal_")
    gain = opts_or(gain, {"gain"})
    local fi, fo = init._calculate_fan_in_and_fan_out(t)
    return init.normal_(t, 0.0, (gain or 1.0) * sqrt(2.0 / (fi + fo)))
  end

  --- kaiming_uniform_(t [, a = 0, mode = "fan_in", nonlinearity = "leaky_relu"])
  function init.kaiming_uniform_(t, a, mode, nonlinearity)
    check(t, "kaiming_uniform_")
    a, mode, nonlinearity = opts_or(a, {"a", "mode", "nonlinearity"}, mode, nonlinearity)
    if t:numel() == 0 then return t end
    local f = fan(t, mode)
    local gain = init.calculate_gain(nonlinearity or "leaky_relu", a or 0)
    local bound = sqrt(3.0) * gain / sqrt(f)
    return init.uniform_(t, -bound, bound)
  end

  --- kaiming_normal_(t [, a = 0, mode = "fan_in", nonlinearity = "leaky_relu"])
  function init.kaiming_normal_(t, a, mode, nonlinearity)
    check(t, "kaiming_normal_")
    a, mode, nonlinearity = opts_or(a, {"a", "mode", "nonlinearity"}, mode, nonlinearity)
    if t:numel() == 0 then return t end
    local f = fan(t, mode)
    local gain = init.calculate_gain(nonlinearity or "leaky_relu", a or 0)
    return init.normal_(t, 0.0, gain / sqrt(f))
  end

  -- erfinv of a float64 tensor in (-1, 1): Giles' single-precision
  -- approximation refined by Newton steps on erf
  local function erfinv(y)
    local w = -((1 - y) * (1 + y)):log()
    local small = w:lt(5.0)
    local ws, wl = w - 2.5, w:sqrt() - 3.0
    local ps, pl = tg.full_like(y, 2.81022636e-08), tg.full_like(y, -0.000200214257)
    for _, c in ipairs({{3.43273939e-07, 0.000100950558}, {-3.5233877e-06, 0.00134934322},
                        {-4.39150654e-06, -0.00367342844}, {0.00021858087, 0.00573950773},
                        {-0.00125372503, -0.0076224613}, {-0.00417768164, 0.00943887047},
                        {0.246640727, 1.00167406}, {1.50140941, 2.83297682}}) do
      ps = ps * ws + c[1]
      pl = pl * wl + c[2]
    end
    local x = tg.where(small, ps, pl) * y
    local k = 2 / sqrt(math.pi)
    for _ = 1, 3 do
      x = x - (tg.erf(x) - y) / (k * (-(x * x)):exp())
    end
    return x
  end

  --- trunc_normal_(t [, mean = 0, std = 1, a = -2, b = 2]): normal values
  -- truncated to [a, b], by the inverse CDF as PyTorch
  function init.trunc_normal_(t, mean, std, a, b)
    check(t, "trunc_normal_")
    mean, std, a, b = opts_or(mean, {"mean", "std", "a", "b"}, std, a, b)
    mean, std, a, b = mean or 0.0, std or 1.0, a or -2.0, b or 2.0
    if t:numel() == 0 then return t end
    local function cdf(x) return (1 + tg.erf(tg.tensor(x / sqrt(2.0), {dtype = tg.float64})):item()) / 2 end
    local l, u = cdf((a - mean) / std), cdf((b - mean) / std)
    local v = tg.rand(t.shape, {dtype = tg.float64}) * (2 * u - 2 * l) + (2 * l - 1)
    v = v:clamp(-1 + 1e-15, 1 - 1e-15)
    local x = (erfinv(v) * (std * sqrt(2.0)) + mean):clamp(a, b)
    return fill_from(t, x)
  end

  --- orthogonal_(t [, gain = 1]): a (semi-)orthogonal matrix (t flattened to
  -- rows x rest), from the QR decomposition of a normal matrix with R's diagonal
  -- made positive (Gram-Schmidt, twice for accuracy)
  function init.orthogonal_(t, gain)
    check(t, "orthogonal_")
    gain = opts_or(gain, {"gain"})
    if t:dim() < 2 then error("Only tensors with 2 or more dimensions are supported", 2) end
    if t:numel() == 0 then return t end
    local rows = t.shape[1]
    local cols = t:numel() // rows
    local m = tg.randn(rows, cols, {dtype = tg.float64})
    local transposed = rows < cols
    if transposed then m = m:t():contiguous() end
    local n, k = m.shape[1], m.shape[2]      -- n >= k: orthonormal columns
    local q = tg.zeros(n, k, {dtype = tg.float64})
    tg.no_grad(function()
      for j = 1, k do
        local v = m:select(2, j):clone()
        if j > 1 then
          local qj = q:narrow(2, 1, j - 1)
          for _ = 1, 2 do v = v - tg.mv(qj, tg.mv(qj:t(), v)) end
        end
        q:select(2, j):copy_(v / v:norm())
      end
    end)
    if transposed then q = q:t() end
    q = q:reshape(t.shape) * (gain or 1.0)
    return fill_from(t, q)
  end

  --- sparse_(t, sparsity [, std = 0.01]): normal(0, std) with a fraction of each column zero
  function init.sparse_(t, sparsity, std)
    check(t, "sparse_")
    if t:dim() ~= 2 then error("Only tensors with 2 dimensions are supported", 2) end
    local rows, cols = t.shape[1], t.shape[2]
    local nz = math.ceil(sparsity * rows)
    init.normal_(t, 0, std or 0.01)
    tg.no_grad(function()
      for c = 1, cols do
        local _, perm = tg.rand(rows):sort()
        for i = 1, nz do t[{perm[i]:item(), c}] = 0 end
      end
    end)
    return t
  end

  return init
end
