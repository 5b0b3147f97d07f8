-- tgrad.utils.data: datasets and batching (torch.utils.data).
--
--   local data = tg.utils.data
--   local ds = data.TensorDataset(x, y)          -- ds[i] -> {x[i], y[i]} (ds[-1] the last), #ds, ds:get(i) -> x[i], y[i]
--   local loader = data.DataLoader(ds, {batch_size = 32, shuffle = true, drop_last = false})
--   for xb, yb in loader:iter() do ... end       -- a batch of tuples comes unpacked
--   for xb, yb in loader do ... end              -- the same, one pass per loop
--   local train, test = data.random_split(ds, {0.8, 0.2})   -- or lengths {800, 200}
--
-- A dataset is anything with #ds and ds[i] (1-based), a Lua list of samples
-- included. Shuffling draws tg.randperm from the state's generator
-- (tg.manual_seed) or from opts.generator (a tg.Generator()), so a fixed seed
-- gives a fixed order. The default collate stacks tensors along a new first
-- dimension, turns numbers into a tensor (integers int64, floats float64, as
-- PyTorch's default_collate), booleans into a bool tensor, and recurses into
-- lists and tables of those. TensorDatasets (and Subsets of them) batch with
-- one index_select per tensor instead of a stack of samples (same values).
return function(tg)
  local is_tensor = tg.is_tensor
  local data = {}

  ---------------------------------------------------------------- TensorDataset
  local TensorDataset = {__name = "tgrad.utils.data.TensorDataset"}
  local TD_methods = {}

  TensorDataset.__len = function(self) return self._n end
  TensorDataset.__index = function(self, k)
    if math.type(k) == "integer" then
      if k < 0 then k = self._n + k + 1 end -- negative counts from the end (ds[-1] is the last)
      if k < 1 or k > self._n then return nil end
      local out = {}
      for j, t in ipairs(self.tensors) do out[j] = t[k] end
      return out
    end
    return TD_methods[k]
  end
  TensorDataset.__tostring = function(self)
    return ("TensorDataset(%d samples, %d tensors)"):format(self._n, #self.tensors)
  end

  --- ds:get(i) -> the i-th slice of each tensor (unpacked)
  function TD_methods:get(i)
    local s = self[i]
    if not s then error(("index %s is out of range for a dataset of %d samples"):format(tostring(i), self._n), 2) end
    return table.unpack(s)
  end

  -- the batch of the given 1-based indices: {t1[idx], t2[idx], ...} with one index_select each
  function TD_methods:_gather(idx)
    local it = tg.tensor(idx, {dtype = tg.int64})
    local out = {}
    for j, t in ipairs(self.tensors) do out[j] = t:index_select(1, it) end
    return out
  end

  function data.TensorDataset(...)
    local tensors = table.pack(...)
    if tensors.n == 0 then error("TensorDataset() needs at least one tensor", 2) end
    local n
    for i = 1, tensors.n do
      local t = tensors[i]
      if not is_tensor(t) then error(("TensorDataset(): argument %d is a %s, expected a tensor"):format(i, type(t)), 2) end
      if t:dim() == 0 then error(("TensorDataset(): tensor %d is 0-d; tensors need a first dimension"):format(i), 2) end
      n = n or t:size(1)
      if t:size(1) ~= n then error("Size mismatch between tensors", 2) end
    end
    tensors.n = nil
    return setmetatable({tensors = tensors, _n = n}, TensorDataset)
  end

  ---------------------------------------------------------------- Subset
  local Subset = {__name = "tgrad.utils.data.Subset"}
  local SS_methods = {}
  Subset.__len = function(self) return #self.indices end
  Subset.__index = function(self, k)
    if math.type(k) == "integer" then
      if k < 0 then k = #self.indices + k + 1 end -- negative counts from the end
      local j = self.indices[k]
      if j == nil then return nil end
      return self.dataset[j]
    end
    return SS_methods[k]
  end
  Subset.__tostring = function(self) return ("Subset(%d of %d samples)"):format(#self.indices, #self.dataset) end

  function SS_methods:get(i)
    local s = self[i]
    if s == nil then error(("index %s is out of range for a dataset of %d samples"):format(tostring(i), #self), 2) end
    if type(s) == "table" and not is_tensor(s) and getmetatable(s) == nil then return table.unpack(s) end
    return s
  end

  local function gather_of(ds)
    local ok, g = pcall(function() return ds._gather end)
    return ok and type(g) == "function" and g or nil
  end

  function SS_methods:_gather(idx)
    local g = gather_of(self.dataset)
    if not g then return nil end
    local mapped = {}
    for i, k in ipairs(idx) do mapped[i] = self.indices[k] end
    return g(self.dataset, mapped)
  end

  --- data.Subset(dataset, indices): the samples dataset[indices[1]], dataset[indices[2]], ...
  function data.Subset(dataset, indices)
    if is_tensor(indices) then indices = indices:tolist() end
    if type(indices) ~= "table" then error("Subset(): indices must be a list of integers", 2) end
    local n = #dataset
    for i, k in ipairs(indices) do
      if math.type(k) ~= "integer" or k < 1 or k > n then
        error(("Subset(): index %s at position %d is out of range for a dataset of %d samples"):format(tostring(k), i, n), 2)
      end
    end
    return setmetatable({dataset = dataset, indices = indices}, Subset)
  end

  ---------------------------------------------------------------- random_split
  --- data.random_split(dataset, lengths, {generator}) -> Subset, Subset, ...
  -- lengths: integers summing to #dataset, or fractions summing to 1 (floors,
  -- then the remainder one by one to the first subsets, as PyTorch)
  function data.random_split(dataset, lengths, opts)
    opts = opts or {}
    local n = #dataset
    if type(lengths) ~= "table" or #lengths == 0 then error("random_split(): lengths must be a non-empty list", 2) end
    local sum = 0
    for _, l in ipairs(lengths) do
      if type(l) ~= "number" or l < 0 then error("random_split(): lengths must be non-negative numbers", 2) end
      sum = sum + l
    end
    local lens = {}
    if math.abs(sum - 1) < 1e-9 and sum <= 1 then -- fractions, as PyTorch decides
      local total = 0
      for i, f in ipairs(lengths) do
        lens[i] = math.floor(n * f)
        total = total + lens[i]
      end
      local rem = n - total
      for i = 0, rem - 1 do
        local j = i % #lens + 1
        lens[j] = lens[j] + 1
      end
    else
      for i, l in ipairs(lengths) do
        if math.type(l) ~= "integer" then
          error("random_split(): lengths must be integers summing to the dataset's length, or fractions summing to 1", 2)
        end
        lens[i] = l
      end
      if sum ~= n then error("Sum of input lengths does not equal the length of the input dataset!", 2) end
    end
    local perm = tg.randperm(n, {generator = opts.generator}):tolist()
    local out, at = {}, 0
    for i, l in ipairs(lens) do
      local idx = table.move(perm, at + 1, at + l, 1, {})
      out[i] = data.Subset(dataset, idx)
      at = at + l
    end
    return table.unpack(out)
  end

  ---------------------------------------------------------------- collate
  local function collate(batch)
    local first = batch[1]
    if is_tensor(first) then return tg.stack(batch, 1) end
    local ty = type(first)
    if ty == "number" then
      local int = true
      for _, v in ipairs(batch) do int = int and math.type(v) == "integer" end
      return tg.tensor(batch, {dtype = int and tg.int64 or tg.float64})
    elseif ty == "boolean" then
      return tg.tensor(batch, {dtype = tg.bool})
    elseif ty == "string" then
      return batch
    elseif ty == "table" then
      local out = {}
      if #first > 0 then
        for j = 1, #first do
          local col = {}
          for i, s in ipairs(batch) do
            if #s ~= #first then error("each element in list of batch should be of equal size", 0) end
            col[i] = s[j]
          end
          out[j] = collate(col)
        end
      else
        for k in pairs(first) do
          local col = {}
          for i, s in ipairs(batch) do col[i] = s[k] end
          out[k] = collate(col)
        end
      end
      return out
    end
    error("default_collate: batch must contain tensors, numbers, booleans, strings or tables; found " .. ty, 0)
  end
  data.default_collate = collate

  ---------------------------------------------------------------- DataLoader
  local DataLoader = {__name = "tgrad.utils.data.DataLoader"}
  DataLoader.__index = DataLoader

  -- num_workers and pin_memory are accepted for PyTorch code and change nothing:
  -- batches are made in the calling thread, in cpu memory
  local allowed = {batch_size = true, shuffle = true, drop_last = true, collate_fn = true, generator = true,
                   num_workers = true, pin_memory = true}

  function data.DataLoader(dataset, opts)
    opts = opts or {}
    if type(opts) ~= "table" then error("DataLoader(): options must be a table", 2) end
    for k in pairs(opts) do
      if not allowed[k] then error(("DataLoader.__init__() got an unexpected keyword argument '%s'"):format(tostring(k)), 2) end
    end
    local bs = opts.batch_size
    if bs == nil then bs = 1 end
    if math.type(bs) ~= "integer" or bs <= 0 then
      error(("batch_size should be a positive integer value, but got batch_size=%s"):format(tostring(bs)), 2)
    end
    local ok, n = pcall(function() return #dataset end)
    if not ok or math.type(n) ~= "integer" then error("DataLoader(): the dataset must have a length (#dataset)", 2) end
    if opts.collate_fn ~= nil and type(opts.collate_fn) ~= "function" then
      error("DataLoader(): collate_fn must be a function", 2)
    end
    return setmetatable({
      dataset = dataset, batch_size = bs, shuffle = opts.shuffle and true or false,
      drop_last = opts.drop_last and true or false, collate_fn = opts.collate_fn, generator = opts.generator,
    }, DataLoader)
  end

  --- #loader: the number of batches per pass
  function DataLoader.__len(self)
    local n = #self.dataset
    if self.drop_last then return n // self.batch_size end
    return (n + self.batch_size - 1) // self.batch_size
  end

  function DataLoader:__tostring()
    return ("DataLoader(%d samples, batch_size=%d, shuffle=%s, drop_last=%s)"):format(
      #self.dataset, self.batch_size, tostring(self.shuffle), tostring(self.drop_last))
  end

  -- the batch of these indices, collated
  local function fetch(self, idx)
    if not self.collate_fn then
      local g = gather_of(self.dataset)
      local b = g and g(self.dataset, idx)
      if b then return b end
    end
    local samples = {}
    for i, k in ipairs(idx) do
      local s = self.dataset[k]
      if s == nil then error(("DataLoader: dataset[%d] is nil"):format(k), 0) end
      samples[i] = s
    end
    return (self.collate_fn or collate)(samples)
  end

  local function unpack_batch(b)
    if type(b) == "table" and not is_tensor(b) and getmetatable(b) == nil and #b > 0 then return table.unpack(b) end
    return b
  end

  --- loader:batches() -> a new iterator over one pass, yielding the collated batch as one value
  function DataLoader:batches()
    local n = #self.dataset
    local order
    if self.shuffle then order = tg.randperm(n, {generator = self.generator}):tolist() end
    local at = 0
    return function()
      if at >= n then return nil end
      local stop = math.min(at + self.batch_size, n)
      if self.drop_last and stop - at < self.batch_size then
        at = n
        return nil
      end
      local idx = {}
      for i = at + 1, stop do idx[#idx + 1] = order and order[i] or i end
      at = stop
      return fetch(self, idx)
    end
  end

  --- loader:iter() -> an iterator for `for xb, yb in loader:iter() do`: a batch of
  -- tuples (a list) comes unpacked; a batch of a table of fields or one tensor comes as is
  function DataLoader:iter()
    local nextb = self:batches()
    return function()
      local b = nextb()
      if b == nil then return nil end
      return unpack_batch(b)
    end
  end

  -- `for xb, yb in loader do`: the for loop calls the loader itself; a call
  -- with no control value starts a new pass (one pass at a time per loader)
  function DataLoader.__call(self, _, control)
    if control == nil then self._pass = self:batches() end
    local b = self._pass and self._pass()
    if b == nil then
      self._pass = nil
      return nil
    end
    return unpack_batch(b)
  end

  return data
end
