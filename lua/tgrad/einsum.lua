-- tg.einsum(equation, a [, b, ...]) or tg.einsum(equation, {a, b, ...}), as torch.einsum.
-- Subscripts are letters; "..." stands for broadcast batch dims; without "->" the output
-- is the letters used once, in alphabetical order (after the "..." dims).
-- Built from differentiable tgrad ops only (sum, permute, reshape, expand, bmm, mul with an
-- identity for repeated subscripts), so gradients (and gradients of gradients) come for free.
-- Operands are contracted left to right, each pair as one batched matrix product.
return function(tg)
  local is_tensor = tg.is_tensor

  -- the work raises at this file's lines; tg.einsum re-raises at the caller's
  local function fail(msg) error("einsum(): " .. msg) end

  local function index_of(list, x)
    for i, v in ipairs(list) do if v == x then return i end end
    return nil
  end

  -- parse one operand's subscripts into a list of labels (ellipsis dims get labels "." .. k,
  -- right-aligned so that the ellipses of different operands broadcast)
  local function parse_term(term, ndim, which)
    local labels, ell = {}, nil
    local i = 1
    while i <= #term do
      local ch = term:sub(i, i)
      if term:sub(i, i + 2) == "..." then
        if ell then fail("found more than one ellipsis (\"...\") in subscripts for operand " .. which) end
        ell = #labels + 1
        labels[#labels + 1] = "..."
        i = i + 3
      elseif ch:match("%a") then
        labels[#labels + 1] = ch
        i = i + 1
      else
        fail(("invalid subscript given at index %d in the equation string, subscripts must be in [a-zA-Z]"):format(i))
      end
    end
    local nl = #labels - (ell and 1 or 0)
    if (ell and ndim < nl) or (not ell and ndim ~= nl) then
      fail(("the number of subscripts in the equation (%d) does not match the number of dimensions (%d) for operand %d%s")
        :format(nl, ndim, which, ell and "" or " and no ellipsis was given"))
    end
    if not ell then return labels, 0 end
    local ne = ndim - nl
    local out = {}
    for k = 1, ell - 1 do out[#out + 1] = labels[k] end
    for k = 1, ne do out[#out + 1] = "." .. (ne - k + 1) end -- "." .. 1 is the last ellipsis dim
    for k = ell + 1, #labels do out[#out + 1] = labels[k] end
    return out, ne
  end

  -- take the diagonal of repeated labels: x * eye over the pair, summed over the second
  local function diagonalize(x, labels)
    local i = 1
    while i <= #labels do
      local j = nil
      for k = i + 1, #labels do if labels[k] == labels[i] then j = k break end end
      if j then
        local n = x:size(i)
        if x:size(j) ~= n then
          fail(("subscript %s is repeated for operand but the sizes don't match, %d != %d"):format(labels[i], n, x:size(j)))
        end
        local shape = {}
        for k = 1, #labels do shape[k] = (k == i or k == j) and n or 1 end
        x = (x * tg.eye(n, {dtype = x.dtype}):reshape(shape)):sum(j)
        table.remove(labels, j)
      else
        i = i + 1
      end
    end
    return x, labels
  end

  -- sum out the labels of x that are not in keep
  local function sum_unused(x, labels, keep)
    local dims, kept = {}, {}
    for k, l in ipairs(labels) do
      if keep[l] then kept[#kept + 1] = l else dims[#dims + 1] = k end
    end
    if #dims > 0 then x = x:sum(dims) end
    return x, kept
  end

  local function permute_to(x, labels, order)
    local perm, identity = {}, true
    for k, l in ipairs(order) do
      perm[k] = index_of(labels, l)
      if perm[k] ~= k then identity = false end
    end
    if identity then return x end
    return x:permute(perm)
  end

  local function prod(sizes, labels)
    local p = 1
    for _, l in ipairs(labels) do p = p * sizes[l] end
    return p
  end

  -- contract two operands keeping the labels in keep (a set); returns tensor, labels
  local function contract(a, la, b, lb, keep, sizes)
    local batch, left, right, inner = {}, {}, {}, {}
    for _, l in ipairs(la) do
      if index_of(lb, l) then
        if keep[l] then batch[#batch + 1] = l else inner[#inner + 1] = l end
      else
        left[#left + 1] = l
      end
    end
    for _, l in ipairs(lb) do if not index_of(la, l) then right[#right + 1] = l end end
    local function expanded(x, labels)
      local want, need = {}, false
      for k, l in ipairs(labels) do
        want[k] = sizes[l]
        if x:size(k) ~= sizes[l] then need = true end
      end
      return need and x:expand(want) or x
    end
    local order_a = {}
    for _, g in ipairs({batch, left, inner}) do for _, l in ipairs(g) do order_a[#order_a + 1] = l end end
    local order_b = {}
    for _, g in ipairs({batch, inner, right}) do for _, l in ipairs(g) do order_b[#order_b + 1] = l end end
    local A = permute_to(expanded(a, la), la, order_a)
    local B = permute_to(expanded(b, lb), lb, order_b)
    local nb, nl, ni, nr = prod(sizes, batch), prod(sizes, left), prod(sizes, inner), prod(sizes, right)
    local P = tg.bmm(A:reshape(nb, nl, ni), B:reshape(nb, ni, nr))
    local out_labels, out_shape = {}, {}
    for _, g in ipairs({batch, left, right}) do
      for _, l in ipairs(g) do
        out_labels[#out_labels + 1] = l
        out_shape[#out_shape + 1] = sizes[l]
      end
    end
    return P:reshape(out_shape), out_labels
  end

  local function einsum(eq, ...)
    local ops = table.pack(...)
    if ops.n == 1 and type(ops[1]) == "table" and not is_tensor(ops[1]) then ops = ops[1] end
    if type(eq) ~= "string" then fail("the equation must be a string") end
    if #ops == 0 then fail("must provide at least one operand") end
    eq = eq:gsub("%s", "")
    local lhs, rhs = eq:match("^(.-)%->(.*)$")
    if not lhs then lhs = eq end
    local terms = {}
    for t in (lhs .. ","):gmatch("([^,]*),") do terms[#terms + 1] = t end
    if #terms ~= #ops then
      fail(("%s operands were provided than specified in the equation"):format(#terms < #ops and "more" or "fewer"))
    end
    local labels, sizes, count, max_ell = {}, {}, {}, 0
    local xs = {}
    for k, t in ipairs(terms) do
      local x = ops[k]
      if not is_tensor(x) then fail(("operand %d is not a Tensor"):format(k)) end
      local ls, ne = parse_term(t, x:dim(), k)
      max_ell = math.max(max_ell, ne)
      for _, l in ipairs(ls) do count[l] = (count[l] or 0) + 1 end -- "ii" counts i twice
      x, ls = diagonalize(x, ls)
      for d, l in ipairs(ls) do
        local n = x:size(d)
        if sizes[l] and sizes[l] ~= n and sizes[l] ~= 1 and n ~= 1 then
          fail(("subscript %s has size %d for operand %d which does not broadcast with previously seen size %d")
            :format(l:sub(1, 1) == "." and "..." or l, n, k, sizes[l]))
        end
        if not sizes[l] or sizes[l] == 1 then sizes[l] = n end
      end
      labels[k], xs[k] = ls, x
    end
    -- the output labels
    local out = {}
    if rhs then
      local i = 1
      while i <= #rhs do
        if rhs:sub(i, i + 2) == "..." then
          for e = max_ell, 1, -1 do out[#out + 1] = "." .. e end
          i = i + 3
        else
          local ch = rhs:sub(i, i)
          if not ch:match("%a") then fail("invalid subscript in the output: " .. ch) end
          if index_of(out, ch) then fail(("output subscript %s appears more than once in the output"):format(ch)) end
          if not sizes[ch] then fail(("output subscript %s does not appear in the equation for any input operand"):format(ch)) end
          out[#out + 1] = ch
          i = i + 1
        end
      end
    else
      for e = max_ell, 1, -1 do out[#out + 1] = "." .. e end
      local once = {}
      for l, n in pairs(count) do if n == 1 and l:sub(1, 1) ~= "." then once[#once + 1] = l end end
      table.sort(once)
      for _, l in ipairs(once) do out[#out + 1] = l end
    end
    -- contract left to right; keep what the output or a later operand needs
    local function keep_after(k)
      local keep = {}
      for _, l in ipairs(out) do keep[l] = true end
      for j = k + 1, #xs do for _, l in ipairs(labels[j]) do keep[l] = true end end
      return keep
    end
    local x, lx = sum_unused(xs[1], labels[1], (function()
      local keep = keep_after(1)
      for j = 2, #xs do for _, l in ipairs(labels[j]) do keep[l] = true end end
      return keep
    end)())
    for k = 2, #xs do
      local keep = keep_after(k)
      local kb = {}
      for l in pairs(keep) do kb[l] = true end
      for _, l in ipairs(lx) do kb[l] = true end
      local y, ly = sum_unused(xs[k], labels[k], kb)
      x, lx = contract(x, lx, y, ly, keep, sizes)
    end
    x, lx = sum_unused(x, lx, (function() local s = {} for _, l in ipairs(out) do s[l] = true end return s end)())
    -- broadcast size-1 ellipsis dims that were never contracted against a larger one
    local want, need = {}, false
    for k, l in ipairs(lx) do
      want[k] = sizes[l]
      if x:size(k) ~= sizes[l] then need = true end
    end
    if need then x = x:expand(want) end
    if #out == 0 then return #lx == 0 and x or x:sum() end
    return permute_to(x, lx, out)
  end

  tg.einsum = tg._entry(einsum)
end
