-- tgrad.nn.container: Sequential, ModuleList, ModuleDict. Children are named
-- as PyTorch names them ("0", "1", ... for positional ones, so state_dict keys
-- match PyTorch's: "features.0.weight"); Lua indexing is 1-based: s[1] is the
-- child named "0", s[-1] the last; #s counts them; ipairs(s) walks them.
return function(tg, nn)
  local R = require("tgrad.nn.pyrepr")
  local Module, OD, is_module = nn.Module, nn._OD, nn.is_module

  -- the i-th child (1-based, negative from the end) -> its key
  local function key_at(self, i, what)
    local keys = {}
    for _, k in ipairs(rawget(self, "_modules").keys) do keys[#keys + 1] = k end
    local n = #keys
    if i < 0 then i = i + n + 1 end
    if math.type(i) ~= "integer" or i < 1 or i > n then
      return nil, ("index %s is out of range"):format(tostring(what or i))
    end
    return keys[i]
  end

  -- the children that are set (a name assigned nil keeps its place, as PyTorch's None)
  local function count(self)
    local n = 0
    for _ in OD.iter(rawget(self, "_modules")) do n = n + 1 end
    return n
  end

  -- rename the children "0".."n-1" in their order (after insert / delete)
  local function renumber(self)
    local mods = rawget(self, "_modules")
    local list = {}
    for _, k in ipairs(mods.keys) do list[#list + 1] = mods.map[k] end
    local fresh = OD.new()
    for i, m in ipairs(list) do OD.set(fresh, tostring(i - 1), m) end
    mods.keys, mods.map, mods.has = fresh.keys, fresh.map, fresh.has
  end

  local function check_module(m, what)
    if not is_module(m) then error(("%s: expected a tg.nn.Module, got %s"):format(what, type(m)), 3) end
  end

  ------------------------------------------------------------ Sequential
  --- Sequential(m1, m2, ...) or Sequential({{"name", m1}, {"name2", m2}, ...}) (named, ordered)
  local Sequential = Module:extend("Sequential")
  nn.Sequential = Sequential
  function Sequential:__init(...)
    local n = select("#", ...)
    local first = ...
    if n == 1 and type(first) == "table" and not is_module(first) then
      for i, e in ipairs(first) do
        if is_module(e) then
          self:add_module(tostring(i - 1), e)
        elseif type(e) == "table" and type(e[1]) == "string" and is_module(e[2]) then
          self:add_module(e[1], e[2])
        else
          error(("Sequential: element %d is neither a module nor a {name, module} pair"):format(i), 2)
        end
      end
      return
    end
    for i = 1, n do
      local m = select(i, ...)
      check_module(m, "Sequential")
      self:add_module(tostring(i - 1), m)
    end
  end

  local function getitem(self, k)
    if type(k) == "table" then   -- s[{a, b}]: the children a..b (inclusive) as a new Sequential, keys kept
      local n = count(self)
      local a, b = k[1] or 1, k[2] or n
      if a < 0 then a = a + n + 1 end
      if b < 0 then b = b + n + 1 end
      local mods = rawget(self, "_modules")
      local pairs_ = {}
      for i = math.max(a, 1), math.min(b, n) do
        local key = mods.keys[i]
        pairs_[#pairs_ + 1] = {key, mods.map[key]}
      end
      local out = getmetatable(self)()
      for _, e in ipairs(pairs_) do OD.set(rawget(out, "_modules"), e[1], e[2]) end
      return out
    end
    local key = key_at(self, k)
    if key == nil then return nil end
    return rawget(self, "_modules").map[key]
  end

  -- s[i] = m replaces the i-th child; s[i] = nil deletes it (PyTorch's del s[i]; names renumbered)
  local function setitem(self, i, m)
    local key, err = key_at(self, i)
    if key == nil then error(err, 3) end
    if m == nil then
      OD.del(rawget(self, "_modules"), key)
      renumber(self)
      return
    end
    check_module(m, "setitem")
    rawget(self, "_modules").map[key] = m
  end

  Sequential.__getitem = getitem
  Sequential.__setitem = setitem
  function Sequential:__len() return count(self) end

  -- (tiny: the values pass from module to module as varargs, no table per layer;
  -- the keys are read live at each step, as OD.iter does)
  local function run_from(d, i, ...)
    local keys, map = d.keys, d.map
    while true do
      i = i + 1
      local k = keys[i]
      if k == nil then return ... end
      local m = map[k]
      if m ~= nil then return run_from(d, i, m(...)) end
    end
  end
  function Sequential:forward(...)
    return run_from(rawget(self, "_modules"), 0, ...)
  end

  --- s:append(m): adds m at the end (named by its position); returns s
  function Sequential:append(m)
    check_module(m, "append")
    self:add_module(tostring(count(self)), m)
    return self
  end

  --- s:extend(list_or_sequential): appends each module
  function Sequential:extend(list)
    if is_module(list) then list = list:children() end
    for _, m in ipairs(list) do self:append(m) end
    return self
  end

  --- s:insert(index, m): m becomes the index-th child (1-based); names renumbered as PyTorch
  function Sequential:insert(index, m)
    check_module(m, "insert")
    local n = count(self)
    if index < 0 then index = index + n + 1 end
    if math.type(index) ~= "integer" or index < 1 or index > n + 1 then
      error(("Index out of range: %s"):format(tostring(index)), 2)
    end
    local mods = rawget(self, "_modules")
    local key = "\0tmp"
    OD.set(mods, key, m)
    table.remove(mods.keys)
    table.insert(mods.keys, index, key)
    renumber(self)
    return self
  end

  --- s:pop(index): removes and returns the index-th child
  function Sequential:pop(index)
    local key, err = key_at(self, index)
    if key == nil then error(err, 2) end
    local mods = rawget(self, "_modules")
    local m = mods.map[key]
    OD.del(mods, key)
    renumber(self)
    return m
  end

  ------------------------------------------------------------ ModuleList
  --- ModuleList([list of modules])
  local ModuleList = Module:extend("ModuleList")
  nn.ModuleList = ModuleList
  function ModuleList:__init(list)
    if list ~= nil then self:extend(list) end
  end
  ModuleList.__getitem = getitem
  ModuleList.__setitem = setitem
  ModuleList.__len = Sequential.__len
  ModuleList.append = Sequential.append
  ModuleList.insert = Sequential.insert
  ModuleList.pop = Sequential.pop
  function ModuleList:extend(list)
    if is_module(list) then list = list:children() end
    if type(list) ~= "table" then
      error("ModuleList.extend should be called with an iterable, but got " .. type(list), 2)
    end
    for _, m in ipairs(list) do self:append(m) end
    return self
  end
  function ModuleList:forward()
    error('Module [ModuleList] is missing the required "forward" function', 2)
  end

  --- tostring: runs of equal children shortened as PyTorch ("(0-2): 3 x Linear(...)")
  function ModuleList:__repr()
    local reprs = {}
    for _, m in OD.iter(rawget(self, "_modules")) do reprs[#reprs + 1] = tostring(m) end
    if #reprs == 0 then return self:_get_name() .. "()" end
    local blocks = {{0, 0, reprs[1]}}
    for i = 2, #reprs do
      local last = blocks[#blocks]
      if reprs[i] == last[3] then last[2] = last[2] + 1
      else blocks[#blocks + 1] = {i - 1, i - 1, reprs[i]} end
    end
    local lines = {}
    for _, b in ipairs(blocks) do
      local s
      if b[1] == b[2] then s = ("(%d): %s"):format(b[1], b[3])
      else s = ("(%d-%d): %d x %s"):format(b[1], b[2], b[2] - b[1] + 1, b[3]) end
      lines[#lines + 1] = R.addindent(s, 2)
    end
    return self:_get_name() .. "(\n  " .. table.concat(lines, "\n  ") .. "\n)"
  end

  ------------------------------------------------------------ ModuleDict
  --- ModuleDict([{{"name", m}, ...} or {name = m, ...} (sorted by name)])
  local ModuleDict = Module:extend("ModuleDict")
  nn.ModuleDict = ModuleDict
  function ModuleDict:__init(modules)
    if modules ~= nil then self:update(modules) end
  end

  --- d:update(pairs_or_map)
  function ModuleDict:update(modules)
    if is_module(modules) and modules:isinstance(ModuleDict) then
      for k, m in modules:items() do self:add_module(k, m) end
      return self
    end
    if type(modules) ~= "table" then
      error("ModuleDict.update should be called with an iterable of key/value pairs, but got " .. type(modules), 2)
    end
    if #modules > 0 then
      for i, e in ipairs(modules) do
        if type(e) ~= "table" or #e ~= 2 then
          error(("ModuleDict update sequence element #%d has length %s; 2 is required"):format(i - 1,
            type(e) == "table" and #e or "?"), 2)
        end
        self:_set(e[1], e[2])
      end
    else
      local keys = {}
      for k in pairs(modules) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do self:_set(k, modules[k]) end
    end
    return self
  end

  function ModuleDict:_set(k, m)
    local mods = rawget(self, "_modules")
    if mods.has[k] then
      check_module(m, "ModuleDict")
      mods.map[k] = m
    else
      self:add_module(k, m)
    end
  end

  function ModuleDict:__len() return count(self) end
  function ModuleDict:__pairs()
    return OD.iter(rawget(self, "_modules")), self, nil
  end

  --- d:keys(), d:values(): arrays; d:items(): iterator over (name, module)
  function ModuleDict:keys()
    local out = {}
    for k in OD.iter(rawget(self, "_modules")) do out[#out + 1] = k end
    return out
  end
  function ModuleDict:values()
    local out = {}
    for _, m in OD.iter(rawget(self, "_modules")) do out[#out + 1] = m end
    return out
  end
  function ModuleDict:items() return OD.iter(rawget(self, "_modules")) end
  function ModuleDict:contains(k) return rawget(self, "_modules").map[k] ~= nil end
  --- d:pop(k): removes and returns the module named k
  function ModuleDict:pop(k)
    local mods = rawget(self, "_modules")
    local m = mods.map[k]
    if not mods.has[k] then error(("KeyError: '%s'"):format(tostring(k)), 2) end
    OD.del(mods, k)
    return m
  end
  function ModuleDict:clear()
    local mods = rawget(self, "_modules")
    mods.keys, mods.map, mods.has = {}, {}, {}
  end
  function ModuleDict:forward()
    error('Module [ModuleDict] is missing the required "forward" function', 2)
  end

  ------------------------------------------------------------ ParameterList / ParameterDict
  local Parameter, is_parameter = nn.Parameter, nn.is_parameter
  local is_tensor = tg.is_tensor

  -- a tensor that is not yet a Parameter becomes one (as PyTorch's containers do)
  local function as_param(v, what)
    if is_parameter(v) then return v end
    if is_tensor(v) then return Parameter(v) end
    error(("%s: expected a tensor or tg.nn.Parameter, got %s"):format(what, type(v)), 4)
  end

  local function param_line(k, p)
    return ("  (%s): Parameter containing: [%s of size %s]"):format(k, tostring(p.dtype),
      #p.shape == 0 and "" or table.concat(p.shape, "x"))
  end

  --- ParameterList([list of tensors]): parameters named "0", "1", ...; 1-based indexing
  local ParameterList = Module:extend("ParameterList")
  nn.ParameterList = ParameterList
  function ParameterList:__init(list)
    if list ~= nil then self:extend(list) end
  end
  local function pcount(self) return #rawget(self, "_parameters").keys end
  function ParameterList:__len() return pcount(self) end
  function ParameterList:__getitem(i)
    if type(i) ~= "number" then return nil end
    local keys = rawget(self, "_parameters").keys
    if i < 0 then i = i + #keys + 1 end
    local k = keys[i]
    return k and rawget(self, "_parameters").map[k] or nil
  end
  function ParameterList:__setitem(i, v)
    local keys = rawget(self, "_parameters").keys
    if i < 0 then i = i + #keys + 1 end
    if math.type(i) ~= "integer" or i < 1 or i > #keys then error(("index %s is out of range"):format(tostring(i)), 3) end
    rawget(self, "_parameters").map[keys[i]] = as_param(v, "ParameterList")
  end
  --- l:append(t), l:extend(list)
  function ParameterList:append(v)
    self:register_parameter(tostring(pcount(self)), as_param(v, "ParameterList.append"))
    return self
  end
  function ParameterList:extend(list)
    if type(list) ~= "table" or is_tensor(list) then
      error("ParameterList.extend should be called with an iterable, but got " .. type(list), 2)
    end
    for _, v in ipairs(list) do self:append(v) end
    return self
  end
  function ParameterList:extra_repr()
    local lines = {}
    for k, p in OD.iter(rawget(self, "_parameters")) do lines[#lines + 1] = param_line(k, p) end
    return table.concat(lines, "\n")
  end
  function ParameterList:forward()
    error('Module [ParameterList] is missing the required "forward" function', 2)
  end

  --- ParameterDict([{{"name", t}, ...} or {name = t} (sorted)]): d.name, d.name = t, #d, pairs(d)
  local ParameterDict = Module:extend("ParameterDict")
  nn.ParameterDict = ParameterDict
  function ParameterDict:__init(items)
    if items ~= nil then self:update(items) end
  end
  function ParameterDict:__setkey(k, v)
    if v == nil then
      OD.del(rawget(self, "_parameters"), k)
    else
      local p = as_param(v, "ParameterDict")
      OD.set(rawget(self, "_parameters"), k, p)
    end
    return true
  end
  function ParameterDict:update(items)
    if type(items) ~= "table" then error("ParameterDict.update should be called with a table, got " .. type(items), 2) end
    if #items > 0 then
      for _, e in ipairs(items) do self:__setkey(e[1], e[2]) end
    else
      local keys = {}
      for k in pairs(items) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do self:__setkey(k, items[k]) end
    end
    return self
  end
  function ParameterDict:__len() return pcount(self) end
  function ParameterDict:__pairs() return OD.iter(rawget(self, "_parameters")), self, nil end
  function ParameterDict:keys()
    local out = {}
    for k in OD.iter(rawget(self, "_parameters")) do out[#out + 1] = k end
    return out
  end
  function ParameterDict:values()
    local out = {}
    for _, p in OD.iter(rawget(self, "_parameters")) do out[#out + 1] = p end
    return out
  end
  function ParameterDict:items() return OD.iter(rawget(self, "_parameters")) end
  function ParameterDict:pop(k)
    local p = rawget(self, "_parameters").map[k]
    if p == nil then error(("KeyError: '%s'"):format(tostring(k)), 2) end
    OD.del(rawget(self, "_parameters"), k)
    return p
  end
  ParameterDict.extra_repr = ParameterList.extra_repr
  function ParameterDict:forward()
    error('Module [ParameterDict] is missing the required "forward" function', 2)
  end
end
