-- data_spec.lua: tg.utils.data (TensorDataset, DataLoader, random_split, Subset),
-- tg.randperm and tg.Generator, and the progress bar tg.utils.progress (issue 8).
-- Cases follow PyTorch's test/test_dataloader.py where they apply.
local tg = require "tgrad"
local data = tg.utils.data
local errors = require("support.helpers").errors

local function is_perm(list, n)
  if #list ~= n then return false end
  local seen = {}
  for _, v in ipairs(list) do
    if math.type(v) ~= "integer" or v < 1 or v > n or seen[v] then return false end
    seen[v] = true
  end
  return true
end

local function dataset(n)
  local x = tg.arange(0.0, 2.0 * n):reshape(n, 2)
  local y = tg.arange(1, n + 1)
  return data.TensorDataset(x, y), x, y
end

describe("tg.randperm and tg.Generator", function()
  it("gives a permutation of 1..n (int64) from the state's generator, reproducibly", function()
    tg.manual_seed(7)
    local p = tg.randperm(50)
    assert.are.equal(tg.int64, p.dtype)
    assert.is_true(is_perm(p:tolist(), 50))
    tg.manual_seed(7)
    assert.are.same(p:tolist(), tg.randperm(50):tolist())
    assert.are_not.same(p:tolist(), tg.randperm(50):tolist())
  end)

  it("handles n = 0 and 1, dtype= and refuses bad n", function()
    assert.are.same({0}, tg.randperm(0).shape)
    assert.are.same({1}, tg.randperm(1):tolist())
    local f = tg.randperm(5, {dtype = tg.float64})
    assert.are.equal(tg.float64, f.dtype)
    table.sort(f:tolist())
    errors("n must be non-negative, got -1", tg.randperm, -1)
    errors("randperm is not implemented for Bool", tg.randperm, 3, {dtype = tg.bool})
    errors("randperm() got an unexpected keyword argument 'seed'", tg.randperm, 3, {seed = 1})
    errors("generator must be a tgrad.Generator", tg.randperm, 3, {generator = 5})
  end)

  it("draws uniformly (each value in each place about n/k times)", function()
    tg.manual_seed(1)
    local counts = {}
    for _ = 1, 3000 do
      local p = tg.randperm(3):tolist()
      counts[p[1]] = (counts[p[1]] or 0) + 1
    end
    for v = 1, 3 do assert(math.abs(counts[v] - 1000) < 150, "value " .. v .. " first " .. counts[v] .. " times") end
  end)

  it("a Generator has its own stream, independent of tg.manual_seed", function()
    local g = tg.Generator():manual_seed(42)
    assert.are.equal(42, g:initial_seed())
    tg.manual_seed(1)
    local a = tg.randperm(20, {generator = g}):tolist()
    tg.manual_seed(2)
    local b = tg.randperm(20, {generator = tg.Generator():manual_seed(42)}):tolist()
    assert.are.same(a, b)
    assert.are_not.same(a, tg.randperm(20, {generator = g}):tolist())
  end)
end)

describe("TensorDataset", function()
  it("indexes samples as lists of slices and has a length", function()
    local ds, x, y = dataset(5)
    assert.are.equal(5, #ds)
    local s = ds[2]
    assert.are.same({2, 3}, s[1]:tolist())
    assert.are.same(2, s[2]:item())
    local a, b = ds:get(5)
    assert.are.same({8, 9}, a:tolist())
    assert.are.equal(5, b:item())
    assert.is_nil(ds[6])
    assert.is_nil(ds[0])
    assert.are.equal(x, ds.tensors[1])
    assert.are.equal(y, ds.tensors[2])
    errors("index 6 is out of range for a dataset of 5 samples", ds.get, ds, 6)
  end)

  it("refuses tensors of different lengths, non-tensors and 0-d tensors", function()
    errors("Size mismatch between tensors", data.TensorDataset, tg.ones(3), tg.ones(4))
    errors("argument 2 is a number", data.TensorDataset, tg.ones(3), 1)
    errors("0-d", data.TensorDataset, tg.tensor(1.0))
    errors("needs at least one tensor", data.TensorDataset)
  end)
end)

describe("DataLoader", function()
  it("batches in order, with a last partial batch unless drop_last", function()
    local ds = dataset(7)
    local loader = data.DataLoader(ds, {batch_size = 3})
    assert.are.equal(3, #loader)
    local got = {}
    for xb, yb in loader:iter() do
      got[#got + 1] = yb:tolist()
      assert.are.same({#yb:tolist(), 2}, xb.shape)
    end
    assert.are.same({{1, 2, 3}, {4, 5, 6}, {7}}, got)
    local dropped = data.DataLoader(ds, {batch_size = 3, drop_last = true})
    assert.are.equal(2, #dropped)
    got = {}
    for _, yb in dropped:iter() do got[#got + 1] = yb:tolist() end
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, got)
  end)

  it("batch_size defaults to 1 and batches equal stacked samples", function()
    local ds = dataset(3)
    local n = 0
    for xb, yb in data.DataLoader(ds):iter() do
      n = n + 1
      assert.are.same({1, 2}, xb.shape)
      assert.are.same(tg.stack({ds[n][1]}, 1):tolist(), xb:tolist())
      assert.are.same({n}, yb:tolist())
    end
    assert.are.equal(3, n)
  end)

  it("shuffles in the order tg.randperm draws after tg.manual_seed, reproducibly", function()
    local ds = dataset(10)
    local loader = data.DataLoader(ds, {batch_size = 4, shuffle = true})
    local function pass()
      local order = {}
      for xb, yb in loader:iter() do
        for i, v in ipairs(yb:tolist()) do
          order[#order + 1] = v
          assert.are.same({2 * (v - 1), 2 * v - 1}, xb[i]:tolist()) -- inputs stay with their targets
        end
      end
      return order
    end
    tg.manual_seed(2024)
    local first = pass()
    assert.is_true(is_perm(first, 10))
    tg.manual_seed(2024)
    assert.are.same(first, pass())
    tg.manual_seed(2024)
    assert.are.same(first, tg.randperm(10):tolist())
    local again = pass() -- a new epoch, a new order
    assert.is_true(is_perm(again, 10))
    assert.are_not.same(first, again)
  end)

  it("shuffles from its own generator when given one", function()
    local ds = dataset(12)
    local function order(loader)
      local out = {}
      for _, yb in loader:iter() do for _, v in ipairs(yb:tolist()) do out[#out + 1] = v end end
      return out
    end
    tg.manual_seed(1)
    local a = order(data.DataLoader(ds, {batch_size = 5, shuffle = true, generator = tg.Generator():manual_seed(3)}))
    tg.manual_seed(99)
    local b = order(data.DataLoader(ds, {batch_size = 5, shuffle = true, generator = tg.Generator():manual_seed(3)}))
    assert.are.same(a, b)
    assert.is_true(is_perm(a, 12))
  end)

  it("is iterable directly (for xb, yb in loader), one pass per loop, restartable after break", function()
    local ds = dataset(5)
    local loader = data.DataLoader(ds, {batch_size = 2})
    local got = {}
    for _, yb in loader do got[#got + 1] = yb:tolist() end
    assert.are.same({{1, 2}, {3, 4}, {5}}, got)
    for _, yb in loader do
      assert.are.same({1, 2}, yb:tolist())
      break
    end
    got = {}
    for _, yb in loader do got[#got + 1] = yb:tolist() end
    assert.are.same({{1, 2}, {3, 4}, {5}}, got)
  end)

  it("collates numbers (int64 / float64 as PyTorch), booleans, strings, tables and nested tables", function()
    local samples = {
      {x = tg.tensor({1.0, 2.0}), n = 1, f = 0.5, ok = true, name = "a", pair = {tg.tensor(1), 10}},
      {x = tg.tensor({3.0, 4.0}), n = 2, f = 1.5, ok = false, name = "b", pair = {tg.tensor(2), 20}},
    }
    local batches = {}
    for b in data.DataLoader(samples, {batch_size = 2}):iter() do batches[#batches + 1] = b end
    assert.are.equal(1, #batches)
    local b = batches[1]
    assert.are.same({{1, 2}, {3, 4}}, b.x:tolist())
    assert.are.equal(tg.int64, b.n.dtype)
    assert.are.same({1, 2}, b.n:tolist())
    assert.are.equal(tg.float64, b.f.dtype)
    assert.are.same({0.5, 1.5}, b.f:tolist())
    assert.are.same({true, false}, b.ok:tolist())
    assert.are.same({"a", "b"}, b.name)
    assert.are.same({1, 2}, b.pair[1]:tolist())
    assert.are.same({10, 20}, b.pair[2]:tolist())
    local default = data.default_collate({{tg.ones(2), 1}, {tg.zeros(2), 2}})
    assert.are.same({{1, 1}, {0, 0}}, default[1]:tolist())
  end)

  it("accepts num_workers and pin_memory (PyTorch code runs unchanged)", function()
    local loader = data.DataLoader(dataset(4), {batch_size = 2, num_workers = 4, pin_memory = true})
    local n = 0
    for _ in loader:iter() do n = n + 1 end
    assert.are.equal(2, n)
  end)

  it("takes a collate_fn", function()
    local ds = dataset(4)
    local loader = data.DataLoader(ds, {batch_size = 2, collate_fn = function(samples)
      return #samples, samples[1][2]:item()
    end})
    local got = {}
    for n in loader:batches() do got[#got + 1] = n end
    assert.are.same({2, 2}, got)
  end)

  it("refuses bad options clearly", function()
    local ds = dataset(2)
    errors("batch_size should be a positive integer value, but got batch_size=0", data.DataLoader, ds, {batch_size = 0})
    errors("got an unexpected keyword argument 'batchsize'", data.DataLoader, ds, {batchsize = 2})
    errors("the dataset must have a length", data.DataLoader, 5)
    errors("collate_fn must be a function", data.DataLoader, ds, {collate_fn = 1})
    errors("each element in list of batch should be of equal size", function()
      for _ in data.DataLoader({{1, 2}, {1}}, {batch_size = 2}):iter() do end
    end)
  end)
end)

describe("random_split and Subset", function()
  local function all_indices(parts)
    local seen = {}
    for _, p in ipairs(parts) do for _, i in ipairs(p.indices) do seen[#seen + 1] = i end end
    return seen
  end

  it("splits by lengths into disjoint subsets covering the dataset", function()
    local ds = dataset(10)
    tg.manual_seed(5)
    local a, b = data.random_split(ds, {3, 7})
    assert.are.equal(3, #a)
    assert.are.equal(7, #b)
    assert.is_true(is_perm(all_indices({a, b}), 10))
    tg.manual_seed(5)
    local a2 = data.random_split(ds, {3, 7})
    assert.are.same(a.indices, a2.indices)
    tg.manual_seed(5)
    local perm = tg.randperm(10):tolist()
    assert.are.same({perm[1], perm[2], perm[3]}, a.indices)
  end)

  it("splits by fractions, giving the remainder to the first subsets as PyTorch", function()
    local ds = dataset(10)
    local a, b, c = data.random_split(ds, {0.33, 0.33, 0.34})
    assert.are.same({4, 3, 3}, {#a, #b, #c})
    local x, y = data.random_split(dataset(6), {0.5, 0.5})
    assert.are.same({3, 3}, {#x, #y})
    local p, q, r = data.random_split(dataset(30), {0.2, 0.3, 0.5})
    assert.are.same({6, 9, 15}, {#p, #q, #r})
    local z, w = data.random_split(dataset(3), {0.0, 1.0})
    assert.are.same({0, 3}, {#z, #w})
  end)

  it("takes a generator and refuses lengths that do not add up", function()
    local ds = dataset(8)
    local a = data.random_split(ds, {4, 4}, {generator = tg.Generator():manual_seed(11)})
    local b = data.random_split(ds, {4, 4}, {generator = tg.Generator():manual_seed(11)})
    assert.are.same(a.indices, b.indices)
    errors("Sum of input lengths does not equal the length of the input dataset!", data.random_split, ds, {3, 4})
    errors("lengths must be non-negative numbers", data.random_split, ds, {-1, 9})
  end)

  it("a Subset indexes through its indices and batches as its dataset would", function()
    local ds = dataset(6)
    local sub = data.Subset(ds, {6, 2, 4})
    assert.are.equal(3, #sub)
    assert.are.same(6, sub[1][2]:item())
    local xb, yb
    for a, b in data.DataLoader(sub, {batch_size = 3}):iter() do xb, yb = a, b end
    assert.are.same({6, 2, 4}, yb:tolist())
    assert.are.same({{10, 11}, {2, 3}, {6, 7}}, xb:tolist())
    local nested = data.Subset(sub, {3, 1})
    assert.are.same({4, 6}, select(2, data.DataLoader(nested, {batch_size = 2}):iter()()):tolist())
    local list_sub = data.Subset({"a", "b", "c"}, {3, 1})
    assert.are.same({"c", "a"}, data.DataLoader(list_sub, {batch_size = 2}):batches()())
    errors("index 7 at position 1 is out of range for a dataset of 6 samples", data.Subset, ds, {7})
  end)
end)

describe("tg.utils.progress", function()
  local function recorder()
    local out = {}
    return out, function(s) out[#out + 1] = s end
  end

  it("draws a tqdm-style line with rate, ETA and the running loss", function()
    local out, writer = recorder()
    local t = 0
    local bar = tg.utils.progress(10, {desc = "train", writer = writer, clock = function() return t end, width = 72})
    for i = 1, 10 do
      t = t + 0.5
      bar:update(1, {loss = 1 / i})
    end
    bar:close()
    assert.are.equal("\rtrain:   0%|                                     | 0/10 [00:00<?, ?it/s]", out[1])
    assert.are.equal("\rtrain:  10%|█▋               | 1/10 [00:00<00:04, 2.00it/s, loss=1.0000]", out[2])
    assert.are.equal("\rtrain:  50%|████████▌        | 5/10 [00:02<00:02, 2.00it/s, loss=0.4567]", out[6])
    assert.are.equal("\rtrain: 100%|████████████████| 10/10 [00:05<00:00, 2.00it/s, loss=0.2929]", out[11])
    assert.are.equal("\n", out[12])
    assert.are.equal(12, #out) -- close does not draw the same line twice
    for i = 1, 11 do assert.are.equal(73, utf8.len(out[i])) end -- "\r" + the width
  end)

  it("redraws at most every mininterval seconds, but always the last step", function()
    local out, writer = recorder()
    local t = 0
    local bar = tg.utils.progress(100, {writer = writer, clock = function() return t end})
    for _ = 1, 100 do
      t = t + 0.01
      bar:update()
    end
    bar:close()
    assert(#out >= 10 and #out <= 13, #out)
    assert.is_truthy(out[#out - 1]:find("100/100", 1, true))
  end)

  it("shows slow steps as s/it, strings as given, and an unknown total without a bar", function()
    local out, writer = recorder()
    local t = 0
    local bar = tg.utils.progress(nil, {writer = writer, clock = function() return t end})
    t = 4
    bar:update(2, {phase = "warmup"})
    assert.are.equal("\r2 [00:04, 2.00s/it, phase=warmup]", out[#out])
    local fmt = tg.utils.progress(4, {enabled = false, clock = function() return 3725 end})
    fmt.start = 0
    fmt.count = 1
    local line = fmt:format()
    assert.is_truthy(line:find("^ 25%%|"))
    assert.is_truthy(line:find("| 1/4 [1:02:05<3:06:15, 3725.00s/it]", 1, true))
  end)

  it("is silent when its file is not a terminal", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    local bar = tg.utils.progress(3, {file = f, desc = "quiet"})
    assert.is_false(bar.enabled)
    for _ = 1, 3 do bar:update(1, {loss = 0.5}) end
    bar:close()
    f:close()
    local size = assert(io.open(path, "rb")):read("a")
    os.remove(path)
    assert.are.equal("", size)
    assert.is_false(tg._isatty(io.open("/dev/null", "w")))
  end)

  it("works as an iterator: for i, bar in tg.utils.progress(n)", function()
    local out, writer = recorder()
    local seen = {}
    for i, bar in tg.utils.progress(4, {writer = writer, mininterval = 0}) do
      seen[#seen + 1] = i
      bar:set_postfix({loss = i})
    end
    assert.are.same({1, 2, 3, 4}, seen)
    assert.is_truthy(out[#out - 1]:find("4/4", 1, true))
    assert.is_truthy(out[#out - 1]:find("loss=2.5000", 1, true))
    assert.are.equal("\n", out[#out])
    -- a break closes the bar too (it is the loop's to-be-closed value)
    out, writer = recorder()
    for i in tg.utils.progress(10, {writer = writer}) do if i == 2 then break end end
    assert.are.equal("\n", out[#out])
  end)

  it("refuses bad arguments", function()
    errors("n must be a non-negative integer or nil", tg.utils.progress, -1)
    errors("progress() got an unexpected keyword argument 'title'", tg.utils.progress, 3, {title = "x"})
  end)
end)
