-- tgrad.nn.module: tg.nn.Module, the base of every layer, as torch.nn.Module.
--
--   local Net = tg.nn.Module:extend("Net")
--   function Net:__init(n) self.fc = tg.nn.Linear(n, 2) end
--   function Net:forward(x) return self.fc(x) end
--   local net = Net(4)              -- constructs; net(x) runs forward (with hooks)
--
-- Each class is the metatable of its instances. An instance keeps its
-- parameters, buffers and submodules in ordered dictionaries (_parameters,
-- _buffers, _modules); assigning a Parameter or a Module to a field registers
-- it there (in assignment order), reading the field finds it again. Names of
-- nested entries are dotted as PyTorch's ("layer4.1.conv2.weight").
return function(tg, nn)
  local is_tensor = tg.is_tensor
  local is_parameter = nn.is_parameter
  local pyrepr = require("tgrad.nn.pyrepr")

  ------------------------------------------------------------ ordered dict
  -- {keys = {k...}, map = {k = v}, has = {k = true}}: a key may hold nil
  -- (PyTorch's None parameter/submodule) and keep its place
  local OD = {}
  function OD.new() return {keys = {}, map = {}, has = {}} end
  function OD.set(d, k, v)
    if not d.has[k] then d.keys[#d.keys + 1] = k; d.has[k] = true end
    d.map[k] = v
  end
  function OD.del(d, k)
    if not d.has[k] then return end
    d.has[k], d.map[k] = nil, nil
    for i, kk in ipairs(d.keys) do
      if kk == k then table.remove(d.keys, i) break end
    end
  end
  function OD.iter(d)   -- (key, value) in order, skipping none
    local i = 0
    return function()
      while true do
        i = i + 1
        local k = d.keys[i]
        if k == nil then return nil end
        local v = d.map[k]
        if v ~= nil then return k, v end
      end
    end
  end
  nn._OD = OD

  ------------------------------------------------------------ class machinery
  local Module = {}
  nn.Module = Module

  local function is_module(v)
    if type(v) ~= "table" then return false end
    local mt = getmetatable(v)
    return type(mt) == "table" and rawget(mt, "_is_module_class") == true
  end
  nn.is_module = is_module

  -- PyTorch's torch.typename for the messages of bad assignments
  local TENSOR_TYPE = {float32 = "FloatTensor", float64 = "DoubleTensor", int64 = "LongTensor", bool = "BoolTensor"}
  local function typename(v)
    if is_tensor(v) then
      local dt = tostring(v.dtype):gsub("^tgrad%.", "")
      return "torch." .. (TENSOR_TYPE[dt] or "Tensor")
    elseif is_module(v) then return v:_get_name()
    end
    local t = math.type(v) or type(v)
    return ({integer = "int", float = "float", string = "str", boolean = "bool", table = "table"})[t] or t
  end

  -- the metamethods a class passes on to its subclasses (Lua reads metamethods raw)
  local INHERITED = {"__call", "__tostring", "__len", "__pairs", "__getitem", "__setitem", "__setkey", "__close"}

  -- (tiny: no C calls on the way to a method or a parameter: self._parameters and
  -- the other dictionaries are raw fields of a set-up instance, read without a
  -- metamethod; only the key "_parameters" itself, absent before setup, must not
  -- recurse. type(k) is asked only of classes with a __getitem.)
  local function make_index(cls)
    return function(self, k)
      if k == "_parameters" then return cls[k] end
      local p = self._parameters
      if p then
        local v = self._attrs[k]
        if v ~= nil then return v end
        v = p.map[k]
        if v ~= nil then return v end
        v = self._buffers.map[k]
        if v ~= nil then return v end
        v = self._modules.map[k]
        if v ~= nil then return v end
      end
      local gi = cls.__getitem
      if gi then
        local tk = type(k)
        if tk == "number" or (tk == "table" and not is_tensor(k)) then return gi(self, k) end
      end
      return cls[k]
    end
  end

  -- k leaves the given dictionaries and the plain attributes (PyTorch's remove_from)
  local function remove_from(self, k, ...)
    for _, which in ipairs({...}) do OD.del(rawget(self, which), k) end
    rawget(self, "_attrs")[k] = nil
    rawget(self, "_non_persistent")[k] = nil
  end

  local function module_newindex(self, k, v)
    local params, bufs, mods = rawget(self, "_parameters"), rawget(self, "_buffers"), rawget(self, "_modules")
    if params == nil then rawset(self, k, v) return end
    if type(k) == "number" then
      local si = getmetatable(self).__setitem
      if si then return si(self, k, v) end
    elseif type(k) == "string" then
      local sk = getmetatable(self).__setkey   -- ParameterDict: d.k = tensor
      if sk and sk(self, k, v) then return end
    end
    if is_parameter(v) then
      remove_from(self, k, "_buffers", "_modules")
      self:register_parameter(k, v)
    elseif params.has[k] then
      if v ~= nil then
        error(("cannot assign '%s' as parameter '%s' (torch.nn.Parameter or None expected)")
          :format(typename(v), tostring(k)), 2)
      end
      params.map[k] = nil
    elseif is_module(v) then
      remove_from(self, k, "_parameters", "_buffers")
      OD.set(mods, k, v)
    elseif mods.has[k] then
      if v ~= nil then
        error(("cannot assign '%s' as child module '%s' (torch.nn.Module or None expected)")
          :format(typename(v), tostring(k)), 2)
      end
      mods.map[k] = nil
    elseif bufs.has[k] then
      if v ~= nil and not is_tensor(v) then
        error(("cannot assign '%s' as buffer '%s' (torch.Tensor or None expected)")
          :format(typename(v), tostring(k)), 2)
      end
      bufs.map[k] = v
    else
      -- plain attributes live in _attrs, so that a later assignment of a
      -- Parameter or Module to the same name still comes through here
      rawget(self, "_attrs")[k] = v
    end
  end

  local function setup(self)
    rawset(self, "_attrs", {})
    rawset(self, "_parameters", OD.new())
    rawset(self, "_buffers", OD.new())
    rawset(self, "_modules", OD.new())
    rawset(self, "_non_persistent", {})
    rawset(self, "_forward_pre_hooks", OD.new())
    rawset(self, "_forward_hooks", OD.new())
    rawset(self, "_backward_hooks", OD.new())
    rawset(self, "_backward_pre_hooks", OD.new())
    rawset(self, "training", true)
  end

  local function construct_impl(cls, ...)
    local self = setmetatable({}, cls)
    setup(self)
    local init = cls.__init
    if init then init(self, ...) end
    return self
  end
  -- errors name the line that constructed (or called) the module, as tgrad's entry points do
  local construct = tg._entry(construct_impl)

  --- Class:extend(name): a subclass; define methods on it (__init, forward,
  -- extra_repr) and call it to construct an instance
  function Module.extend(parent, name)
    if type(name) ~= "string" then error("extend(name): the class needs a name (a string)", 2) end
    local cls = {}
    for _, mm in ipairs(INHERITED) do cls[mm] = rawget(parent, mm) end
    cls._is_module_class = true
    cls.__name = name
    cls._class_name = name
    cls.super = parent
    cls.__index = make_index(cls)
    cls.__newindex = module_newindex
    return setmetatable(cls, {__index = parent, __call = construct,
                              __tostring = function() return "<class '" .. name .. "'>" end})
  end

  Module._is_module_class = true
  Module.__name = "Module"
  Module._class_name = "Module"
  Module.__index = make_index(Module)
  Module.__newindex = module_newindex
  setmetatable(Module, {__call = construct, __tostring = function() return "<class 'Module'>" end})

  function Module:__init() end

  --- m:isinstance(Class): whether m's class is Class or derives from it
  function Module:isinstance(cls)
    local c = getmetatable(self)
    while c do
      if c == cls then return true end
      c = rawget(c, "super")
    end
    return false
  end

  function Module:_get_name() return getmetatable(self)._class_name end

  ------------------------------------------------------------ registration
  local function check_name(kind, name, self, table_name)
    if type(name) ~= "string" then
      error(("%s name should be a string. Got %s"):format(kind, type(name)), 3)
    elseif name:find(".", 1, true) then
      error(("%s name can't contain \".\", got: %s"):format(kind, name), 3)
    elseif name == "" then
      error(("%s name can't be empty string \"\""):format(kind), 3)
    end
    if rawget(self, "_attrs")[name] ~= nil or rawget(self, name) ~= nil then
      error(("attribute '%s' already exists"):format(name), 3)
    end
    for _, other in ipairs({"_parameters", "_buffers", "_modules"}) do
      if other ~= table_name and rawget(self, other).has[name] then
        error(("attribute '%s' already exists"):format(name), 3)
      end
    end
  end

  --- m:register_parameter(name, param): param is a tg.nn.Parameter or nil
  function Module:register_parameter(name, param)
    check_name("parameter", name, self, "_parameters")
    if param ~= nil and not is_parameter(param) then
      error(("cannot assign '%s' object to parameter '%s' (torch.nn.Parameter or None required)")
        :format(typename(param), name), 2)
    end
    OD.set(rawget(self, "_parameters"), name, param)
  end

  --- m:register_buffer(name, tensor [, persistent = true]): a tensor saved in
  -- state_dict (unless not persistent) and moved by to(), but not a parameter
  function Module:register_buffer(name, tensor, persistent)
    check_name("buffer", name, self, "_buffers")
    if tensor ~= nil and not is_tensor(tensor) then
      error(("cannot assign '%s' object to buffer '%s' (torch Tensor or None required)")
        :format(typename(tensor), name), 2)
    end
    OD.set(rawget(self, "_buffers"), name, tensor)
    rawget(self, "_non_persistent")[name] = (persistent == false) or nil
  end

  --- m:add_module(name, module) (alias register_module)
  function Module:add_module(name, module)
    if module ~= nil and not is_module(module) then
      error(("%s is not a Module subclass"):format(typename(module)), 2)
    end
    check_name("module", name, self, "_modules")
    OD.set(rawget(self, "_modules"), name, module)
  end
  Module.register_module = Module.add_module

  --- m:get_submodule("layer1.0.conv1"), m:get_parameter("fc.weight")
  function Module:get_submodule(target)
    if target == "" then return self end
    local mod = self
    for item in target:gmatch("[^.]+") do
      local sub = rawget(mod, "_modules").map[item]
      if sub == nil then
        error(("%s has no attribute `%s`"):format(mod:_get_name(), item), 2)
      end
      mod = sub
    end
    return mod
  end

  function Module:get_parameter(target)
    local path, name = target:match("^(.*)%.([^.]+)$")
    if not path then path, name = "", target end
    local mod = self:get_submodule(path)
    local p = rawget(mod, "_parameters").map[name]
    if p == nil then error(("%s has no parameter `%s`"):format(mod:_get_name(), name), 2) end
    return p
  end

  function Module:get_buffer(target)
    local path, name = target:match("^(.*)%.([^.]+)$")
    if not path then path, name = "", target end
    local mod = self:get_submodule(path)
    local b = rawget(mod, "_buffers").map[name]
    if b == nil then error(("%s has no buffer `%s`"):format(mod:_get_name(), name), 2) end
    return b
  end

  ------------------------------------------------------------ traversal
  local function list_iter(list)
    local i = 0
    return function()
      i = i + 1
      local e = list[i]
      if e then return e[1], e[2] end
    end
  end

  -- {{name, module}, ...}: self first, then depth first in registration order
  local function collect_modules(self, prefix, memo, out)
    if memo then
      if memo[self] then return out end
      memo[self] = true
    end
    out[#out + 1] = {prefix, self}
    for name, m in OD.iter(rawget(self, "_modules")) do
      collect_modules(m, prefix == "" and name or (prefix .. "." .. name), memo, out)
    end
    return out
  end

  --- m:named_modules([{prefix, remove_duplicate = true}]): iterator over (name, module), self first ("")
  function Module:named_modules(opts)
    opts = opts or {}
    local memo = opts.remove_duplicate ~= false and {} or nil
    return list_iter(collect_modules(self, opts.prefix or "", memo, {}))
  end

  --- m:modules(): array of every module in the tree, self first
  function Module:modules()
    local out = {}
    for _, m in self:named_modules() do out[#out + 1] = m end
    return out
  end

  --- m:named_children(): iterator over (name, module) of the direct submodules
  function Module:named_children()
    local memo, list = {}, {}
    for name, m in OD.iter(rawget(self, "_modules")) do
      if not memo[m] then memo[m] = true; list[#list + 1] = {name, m} end
    end
    return list_iter(list)
  end

  --- m:children(): array of the direct submodules
  function Module:children()
    local out = {}
    for _, m in self:named_children() do out[#out + 1] = m end
    return out
  end

  local function named_members(self, field, opts)
    opts = opts or {}
    local recurse = opts.recurse ~= false
    local dedup = opts.remove_duplicate ~= false
    local mods = recurse and collect_modules(self, opts.prefix or "", dedup and {} or nil, {})
                          or {{opts.prefix or "", self}}
    local seen, list = {}, {}
    for _, e in ipairs(mods) do
      local prefix, m = e[1], e[2]
      for name, v in OD.iter(rawget(m, field)) do
        if not (dedup and seen[v]) then
          seen[v] = true
          list[#list + 1] = {prefix == "" and name or (prefix .. "." .. name), v}
        end
      end
    end
    return list
  end

  --- m:named_parameters([{prefix, recurse = true, remove_duplicate = true}]):
  -- iterator over (dotted name, parameter), registration order, shared ones once
  function Module:named_parameters(opts) return list_iter(named_members(self, "_parameters", opts)) end

  --- m:parameters([{recurse = true}]): array of the parameters
  function Module:parameters(opts)
    if type(opts) == "boolean" then opts = {recurse = opts} end
    local out = {}
    for i, e in ipairs(named_members(self, "_parameters", opts)) do out[i] = e[2] end
    return out
  end

  function Module:named_buffers(opts) return list_iter(named_members(self, "_buffers", opts)) end

  function Module:buffers(opts)
    if type(opts) == "boolean" then opts = {recurse = opts} end
    local out = {}
    for i, e in ipairs(named_members(self, "_buffers", opts)) do out[i] = e[2] end
    return out
  end

  ------------------------------------------------------------ modes, grads, apply
  --- m:train([mode = true]) sets training on m and every submodule; returns m
  function Module:train(mode)
    if mode == nil then mode = true end
    if type(mode) ~= "boolean" then error("training mode is expected to be boolean", 2) end
    rawset(self, "training", mode)
    for _, m in OD.iter(rawget(self, "_modules")) do m:train(mode) end
    return self
  end

  function Module:eval() return self:train(false) end

  --- m:requires_grad_([b = true]) on every parameter; returns m
  function Module:requires_grad_(b)
    if b == nil then b = true end
    for _, p in ipairs(self:parameters()) do p:requires_grad_(b) end
    return self
  end

  --- m:zero_grad([{set_to_none = true}]): grads to nil (or zeroed in place)
  function Module:zero_grad(opts)
    local set_to_none = true
    if type(opts) == "boolean" then set_to_none = opts
    elseif type(opts) == "table" and opts.set_to_none ~= nil then set_to_none = opts.set_to_none end
    for _, p in ipairs(self:parameters()) do
      local g = p.grad
      if g ~= nil then
        if set_to_none then p.grad = nil
        else
          if g.grad_fn then p.grad = g:detach() g = p.grad end
          g:zero_()
        end
      end
    end
  end

  --- m:apply(fn): fn(module) on every submodule (children first) and m; returns m
  function Module:apply(fn)
    for _, m in OD.iter(rawget(self, "_modules")) do m:apply(fn) end
    fn(self)
    return self
  end

  -- fn(tensor) -> tensor on every parameter (in place: the Parameter keeps its
  -- identity, its .data replaced, as PyTorch's _apply) and buffer
  function Module:_apply(fn)
    for _, m in OD.iter(rawget(self, "_modules")) do m:_apply(fn) end
    local params = rawget(self, "_parameters")
    for _, p in OD.iter(params) do
      -- the grad is read first: a .data of another dtype may drop it (its dtype no longer fits)
      local g = p.grad
      local new = tg.no_grad(fn, p)
      if new ~= p then p.data = new end
      if g ~= nil then
        local ng = tg.no_grad(fn, g)
        if ng ~= g or p.grad == nil then p.grad = ng end
      end
    end
    local bufs = rawget(self, "_buffers")
    for k, b in OD.iter(bufs) do bufs.map[k] = tg.no_grad(fn, b) end
    return self
  end

  --- m:to(dtype | device [, dtype]) / m:to(tensor): floating parameters and
  -- buffers cast to dtype (int64 buffers keep theirs), everything moved to device
  function Module:to(a, b)
    local dtype, device
    for _, v in ipairs({a, b}) do
      if type(v) == "string" then device = v
      elseif is_tensor(v) then dtype, device = v.dtype, v.device
      elseif type(v) == "table" and v.dtype == nil and v.device == nil then dtype = v
      elseif type(v) == "table" then dtype, device = v.dtype or dtype, v.device or device
      end
    end
    if dtype and dtype ~= tg.float32 and dtype ~= tg.float64 then
      error(("nn.Module.to only accepts floating point dtypes, but got desired dtype=%s"):format(tostring(dtype)), 2)
    end
    return self:_apply(function(t)
      local r = t
      if device and t.device ~= device then r = r:to(device) end
      if dtype and r:is_floating_point() and r.dtype ~= dtype then r = r:to(dtype) end
      return r
    end)
  end

  function Module:float() return self:to(tg.float32) end
  function Module:double() return self:to(tg.float64) end
  function Module:cpu() return self:to("cpu") end
  function Module:cuda(n) return self:to(n and ("cuda:" .. n) or "cuda") end

  ------------------------------------------------------------ state dict
  -- a table name -> tensor whose pairs() go in insertion order
  -- (keys added later come after, sorted; removed ones are skipped)
  local function ordered_table(keys, map)
    return setmetatable(map, {__pairs = function(t)
      local order, known = {}, {}
      for _, k in ipairs(keys) do
        known[k] = true
        if rawget(t, k) ~= nil then order[#order + 1] = k end
      end
      local extra = {}
      for k in next, t do if not known[k] then extra[#extra + 1] = k end end
      table.sort(extra, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(extra) do order[#order + 1] = k end
      local i = 0
      return function()
        i = i + 1
        local k = order[i]
        if k ~= nil then return k, rawget(t, k) end
      end, t, nil
    end, __name = "tgrad.state_dict"})
  end

  local function save_to(self, prefix, keep_vars, keys, map)
    for name, p in OD.iter(rawget(self, "_parameters")) do
      keys[#keys + 1] = prefix .. name
      map[prefix .. name] = keep_vars and p or p:detach()
    end
    local np = rawget(self, "_non_persistent")
    for name, b in OD.iter(rawget(self, "_buffers")) do
      if not np[name] then
        keys[#keys + 1] = prefix .. name
        map[prefix .. name] = keep_vars and b or b:detach()
      end
    end
    for name, m in OD.iter(rawget(self, "_modules")) do
      save_to(m, prefix .. name .. ".", keep_vars, keys, map)
    end
  end

  --- m:state_dict([{prefix = "", keep_vars = false}]): name -> tensor for every
  -- parameter and persistent buffer (detached, same storage); pairs() on it goes
  -- in registration order (one result, so tg.save(path, m:state_dict()) works)
  function Module:state_dict(opts)
    opts = opts or {}
    local keys, map = {}, {}
    save_to(self, opts.prefix or "", opts.keep_vars, keys, map)
    return ordered_table(keys, map)
  end

  local function shape_str(s)
    local p = {}
    for i, v in ipairs(s) do p[i] = tostring(v) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  local function same_shape(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end

  -- the keys of a state dict in a deterministic order: its own (ordered pairs)
  -- when it has one, else sorted
  local function sd_keys(sd)
    local mt = getmetatable(sd)
    local keys = {}
    if mt and mt.__pairs then
      for k in pairs(sd) do keys[#keys + 1] = k end
    else
      for k in next, sd do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    end
    return keys
  end

  local function load_from(self, sd, keys, prefix, missing, unexpected, errors)
    local locals = {}
    for name, p in OD.iter(rawget(self, "_parameters")) do locals[#locals + 1] = {name, p} end
    local np = rawget(self, "_non_persistent")
    for name, b in OD.iter(rawget(self, "_buffers")) do
      if not np[name] then locals[#locals + 1] = {name, b} end
    end
    local local_names = {}
    for _, e in ipairs(locals) do
      local name, param = e[1], e[2]
      local_names[name] = true
      local key = prefix .. name
      local input = sd[key]
      local optional = self._optional_state
      if input == nil and optional and optional[name] then
        -- e.g. BatchNorm's num_batches_tracked, which PyTorch fills in for a state dict
        -- without version metadata (as every plain table is): the current value stays
      elseif input == nil then
        missing[#missing + 1] = key
      elseif not is_tensor(input) then
        errors[#errors + 1] = ('While copying the parameter named "%s", expected torch.Tensor or Tensor-like object from checkpoint but received %s')
          :format(key, type(input))
      elseif not same_shape(input.shape, param.shape) then
        errors[#errors + 1] = ("size mismatch for %s: copying a param with shape %s from checkpoint, the shape in current model is %s.")
          :format(key, shape_str(input.shape), shape_str(param.shape))
      else
        local ok, err = pcall(tg.no_grad, function() param:copy_(input) end)
        if not ok then
          errors[#errors + 1] = ('While copying the parameter named "%s", whose dimensions in the model are %s and whose dimensions in the checkpoint are %s, an exception occurred : %s.')
            :format(key, shape_str(param.shape), shape_str(input.shape), tostring(err))
        end
      end
    end
    -- a dotted rest must name a submodule, a plain one a local entry (as PyTorch)
    local mods = rawget(self, "_modules")
    for _, key in ipairs(keys) do
      if type(key) == "string" and key:sub(1, #prefix) == prefix then
        local rest = key:sub(#prefix + 1)
        local first, dotted = rest:match("^([^.]*)(%.?)")
        if dotted == "." then
          if not mods.has[first] then unexpected[#unexpected + 1] = key end
        elseif not local_names[first] then
          unexpected[#unexpected + 1] = key
        end
      end
    end
    for name, m in OD.iter(rawget(self, "_modules")) do
      load_from(m, sd, keys, prefix .. name .. ".", missing, unexpected, errors)
    end
  end

  --- m:load_state_dict(sd [, {strict = true}]): copies the tensors of sd into the
  -- parameters and buffers (no_grad); raises PyTorch's "Error(s) in loading
  -- state_dict for Net: ..." on missing/unexpected keys (strict) or size mismatches.
  -- Returns {missing_keys = {...}, unexpected_keys = {...}}.
  function Module:load_state_dict(sd, opts)
    if type(sd) ~= "table" or is_tensor(sd) then
      error(("Expected state_dict to be dict-like, got %s."):format(type(sd)), 2)
    end
    local strict = true
    if type(opts) == "boolean" then strict = opts
    elseif type(opts) == "table" and opts.strict ~= nil then strict = opts.strict end
    local missing, unexpected, errors = {}, {}, {}
    load_from(self, sd, sd_keys(sd), "", missing, unexpected, errors)
    local function quoted(list)
      local q = {}
      for i, k in ipairs(list) do q[i] = '"' .. k .. '"' end
      return table.concat(q, ", ")
    end
    if strict then
      if #unexpected > 0 then
        table.insert(errors, 1, ("Unexpected key(s) in state_dict: %s. "):format(quoted(unexpected)))
      end
      if #missing > 0 then
        table.insert(errors, 1, ("Missing key(s) in state_dict: %s. "):format(quoted(missing)))
      end
    end
    if #errors > 0 then
      error(("Error(s) in loading state_dict for %s:\n\t%s"):format(self:_get_name(), table.concat(errors, "\n\t")), 2)
    end
    return {missing_keys = missing, unexpected_keys = unexpected}
  end

  ------------------------------------------------------------ hooks and calling
  local hook_id = 0
  local function add_hook(dict, fn, opts, what)
    if type(fn) ~= "function" and not (type(getmetatable(fn)) == "table" and getmetatable(fn).__call) then
      error(("%s expects a function, got %s"):format(what, type(fn)), 3)
    end
    hook_id = hook_id + 1
    local id = hook_id
    if opts and opts.prepend then
      table.insert(dict.keys, 1, id); dict.has[id] = true; dict.map[id] = fn
    else
      OD.set(dict, id, fn)
    end
    return setmetatable({id = id}, {__index = {remove = function() OD.del(dict, id) end},
                                     __name = "tgrad.RemovableHandle"})
  end

  --- m:register_forward_pre_hook(fn [, {prepend}]): fn(module, args) before
  -- forward; args is the list of arguments; a non-nil result replaces them (a
  -- list of arguments, or one value). Returns a handle with :remove().
  function Module:register_forward_pre_hook(fn, opts)
    return add_hook(rawget(self, "_forward_pre_hooks"), fn, opts, "register_forward_pre_hook")
  end

  --- m:register_forward_hook(fn [, {prepend}]): fn(module, args, output) after
  -- forward; a non-nil result replaces the output. Returns a handle with :remove().
  function Module:register_forward_hook(fn, opts)
    return add_hook(rawget(self, "_forward_hooks"), fn, opts, "register_forward_hook")
  end

  function Module:forward()
    error(('Module [%s] is missing the required "forward" function'):format(self:_get_name()), 2)
  end

  local unpack, pack = table.unpack, table.pack

  --- m:register_full_backward_pre_hook(fn [, {prepend}]): fn(module, grad_output) when the
  -- gradients of the module's outputs are known; a non-nil result (a list) replaces them
  function Module:register_full_backward_pre_hook(fn, opts)
    return add_hook(rawget(self, "_backward_pre_hooks"), fn, opts, "register_full_backward_pre_hook")
  end

  --- m:register_full_backward_hook(fn [, {prepend}]): fn(module, grad_input, grad_output)
  -- when the gradients of the module's inputs are known: grad_input has one entry per
  -- tensor argument (nil where it needs none), grad_output one per tensor output;
  -- a non-nil result (a list like grad_input) replaces grad_input
  function Module:register_full_backward_hook(fn, opts)
    return add_hook(rawget(self, "_backward_hooks"), fn, opts, "register_full_backward_hook")
  end

  -- the backward hooks ride on two identity Functions (PyTorch's BackwardHookFunction):
  -- one on the tensor inputs (its backward sees grad_input), one on the outputs
  -- (its backward sees grad_output, first)
  local function detach_all(ctx, state, ...)
    ctx.state = state
    local n = select("#", ...)
    local out = {}
    for i = 1, n do out[i] = (select(i, ...)):detach() end
    return unpack(out, 1, n)
  end

  local function as_list(r)
    if type(r) ~= "table" or is_tensor(r) then return pack(r) end
    r.n = r.n or #r
    return r
  end

  local function run_full_hooks(st, gin)
    for _, hook in OD.iter(rawget(st.module, "_backward_hooks")) do
      local r = hook(st.module, gin, st.grad_output)
      if r ~= nil then
        local want = gin.n
        gin = as_list(r)
        if gin.n ~= want then  -- PyTorch's check (torch/utils/hooks.py)
          error(("Backward hook returned an invalid number of grad_input, got %d, but expected %d")
            :format(gin.n, want), 0)
        end
      end
    end
    return gin
  end

  local HookIn, HookOut
  local function hook_functions()
    if HookIn then return end
    HookIn = tg.autograd.Function{name = "BackwardHookFunction", forward = detach_all,
      backward = function(ctx, ...)
        local st = ctx.state
        local grads = pack(...)
        -- one entry per tensor argument, in argument order
        local gin = {n = #st.tensor_pos}
        for j, w in ipairs(st.wrapped) do gin[w] = grads[j] end
        if st.grad_output then gin = run_full_hooks(st, gin) end
        local out = {}
        for j, w in ipairs(st.wrapped) do out[j] = gin[w] end
        return nil, unpack(out, 1, #st.wrapped)
      end}
    HookOut = tg.autograd.Function{name = "BackwardHookFunction", forward = detach_all,
      backward = function(ctx, ...)
        local st = ctx.state
        local gout = pack(...)
        for _, hook in OD.iter(rawget(st.module, "_backward_pre_hooks")) do
          local r = hook(st.module, gout)
          if r ~= nil then gout = as_list(r) end
        end
        st.grad_output = gout
        if #st.wrapped == 0 then run_full_hooks(st, {n = #st.tensor_pos}) end
        return nil, unpack(gout, 1, gout.n)
      end}
  end

  -- args with the tensors that require grad passed through HookIn
  local function wrap_inputs(self, args)
    hook_functions()
    local st = {module = self, tensor_pos = {}, wrapped = {}}
    local ins, pos = {}, {}
    for i = 1, args.n do
      local a = args[i]
      if is_tensor(a) then
        st.tensor_pos[#st.tensor_pos + 1] = i
        if a.requires_grad then
          st.wrapped[#st.wrapped + 1] = #st.tensor_pos
          ins[#ins + 1], pos[#pos + 1] = a, i
        end
      end
    end
    if #ins == 0 then return args, st end
    local w = pack(HookIn:apply(st, unpack(ins)))
    local new = {n = args.n}
    for i = 1, args.n do new[i] = args[i] end
    for j, i in ipairs(pos) do new[i] = w[j] end
    return new, st
  end

  local function wrap_outputs(st, out)
    local ts, pos = {}, {}
    for i = 1, out.n do
      local o = out[i]
      if is_tensor(o) and o.requires_grad then ts[#ts + 1], pos[#pos + 1] = o, i end
    end
    if #ts == 0 then return out end
    local w = pack(HookOut:apply(st, unpack(ts)))
    local new = {n = out.n}
    for i = 1, out.n do new[i] = out[i] end
    for j, i in ipairs(pos) do new[i] = w[j] end
    return new
  end

  --- m(...) runs the forward pre-hooks, forward, then the forward hooks
  local function call_impl(self, ...)
    -- (tiny: the hook dictionaries are raw fields: plain reads, no rawget calls)
    local pre, post = self._forward_pre_hooks, self._forward_hooks
    local bw = (#self._backward_hooks.keys > 0 or #self._backward_pre_hooks.keys > 0)
               and tg.is_grad_enabled()
    if #pre.keys == 0 and #post.keys == 0 and not bw then return self:forward(...) end
    local args = pack(...)
    for _, hook in OD.iter(pre) do
      local r = hook(self, args)
      if r ~= nil then
        if type(r) == "table" and not is_tensor(r) and not is_module(r) then
          args = r
          args.n = args.n or #r
        else
          args = pack(r)
        end
      end
    end
    local st
    if bw then args, st = wrap_inputs(self, args) end
    local out = pack(self:forward(unpack(args, 1, args.n)))
    for _, hook in OD.iter(post) do
      local r = hook(self, args, out.n == 1 and out[1] or out)
      if r ~= nil then
        if out.n ~= 1 and type(r) == "table" and not is_tensor(r) then
          out = r
          out.n = out.n or #r
        else
          out = pack(r)
        end
      end
    end
    if bw then out = wrap_outputs(st, out) end
    return unpack(out, 1, out.n)
  end
  Module.__call = tg._entry(call_impl)

  ------------------------------------------------------------ printing
  --- m:extra_repr(): the text between the parentheses of a layer's line
  function Module:extra_repr() return "" end

  --- tostring(m): the module tree exactly as PyTorch prints it
  function Module:__repr()
    local extra = self:extra_repr()
    local extra_lines = {}
    if extra ~= "" then
      for line in (extra .. "\n"):gmatch("(.-)\n") do extra_lines[#extra_lines + 1] = line end
    end
    local child_lines = {}
    for name, m in OD.iter(rawget(self, "_modules")) do
      child_lines[#child_lines + 1] = "(" .. name .. "): " .. pyrepr.addindent(tostring(m), 2)
    end
    local main = self:_get_name() .. "("
    if #extra_lines > 0 or #child_lines > 0 then
      if #extra_lines == 1 and #child_lines == 0 then
        main = main .. extra_lines[1]
      else
        local lines = {}
        for _, l in ipairs(extra_lines) do lines[#lines + 1] = l end
        for _, l in ipairs(child_lines) do lines[#lines + 1] = l end
        main = main .. "\n  " .. table.concat(lines, "\n  ") .. "\n"
      end
    end
    return main .. ")"
  end

  function Module:__tostring() return self:__repr() end

  return Module
end
