-- tgrad.optim.optimizer: the Optimizer base class of tg.optim (PyTorch's
-- torch.optim.Optimizer): parameter groups with per-group options and the
-- defaults filled in, per-parameter state, zero_grad, step(closure),
-- state_dict / load_state_dict in PyTorch's layout (state indexed by the
-- parameter's position, 1-based; param_groups with 'params' as position lists),
-- add_param_group, and PyTorch's validation errors.
--
-- A built-in optimizer is Optimizer:extend(name, defaults) with a
-- _check(defaults) that raises PyTorch's "Invalid ..." errors and a
-- _step_group(group) that updates the group's parameters (one fused C call
-- per parameter: tg._optim). A user's optimizer may instead override step.
return function(tg)
  local is_tensor = tg.is_tensor
  local Optimizer = {__name = "Optimizer"}
  Optimizer.__index = Optimizer

  ---------------------------------------------------------------- helpers
  --- Python's repr of a float (shortest round-trip digits, ".0" on integral values),
  -- so that messages read as PyTorch's ("Invalid learning rate: -0.1")
  local function pyfmt(x)
    if type(x) ~= "number" then return tostring(x) end
    if math.type(x) == "integer" then return tostring(x) end
    if x ~= x then return "nan" end
    if x == math.huge then return "inf" end
    if x == -math.huge then return "-inf" end
    local s
    for p = 1, 17 do
      s = ("%." .. p .. "g"):format(x)
      if tonumber(s) == x then break end
    end
    if not s:find("[%.eni]") then s = s .. ".0" end
    return s
  end

  local function fmt_value(v)
    if type(v) == "table" and not is_tensor(v) then
      local parts = {}
      for i, w in ipairs(v) do parts[i] = fmt_value(w) end
      return "(" .. table.concat(parts, ", ") .. ")"
    elseif type(v) == "number" then
      return pyfmt(v)
    end
    return tostring(v)
  end

  -- a copy of plain tables (betas, lists), tensors and other values shared
  local function copy_value(v)
    if type(v) == "table" and not is_tensor(v) then
      local c = {}
      for k, w in pairs(v) do c[k] = copy_value(w) end
      return c
    end
    return v
  end

  local function typename(v)
    if is_tensor(v) then return "Tensor" end
    return type(v)
  end

  Optimizer._pyfmt = pyfmt
  Optimizer._copy_value = copy_value

  ---------------------------------------------------------------- classes
  --- Optimizer:extend(name, defaults) -> a class; Class(params, opts) or Class(params, lr)
  -- builds an optimizer. defaults: option -> default value (the options accepted);
  -- opts keys outside it raise "Name() got an unexpected keyword argument 'k'".
  function Optimizer:extend(name, defaults, extra_keys)
    local cls = {}
    for k, v in pairs(self) do
      if type(k) == "string" and k:sub(1, 2) == "__" then cls[k] = v end
    end
    cls.__index = cls
    cls.__name = name
    cls._defaults = defaults or {}
    cls._extra_keys = extra_keys or {}
    return setmetatable(cls, {
      __index = self,
      __call = tg._entry(function(c, ...) return c.new(c, ...) end),
      __tostring = function() return "tgrad.optim." .. name end,
    })
  end

  -- the options: defaults overridden by opts (a table, or a number: the learning rate)
  local function parse_opts(cls, opts)
    local name = cls.__name
    if type(opts) == "number" then opts = {lr = opts} end
    if opts ~= nil and type(opts) ~= "table" then
      error(("%s(): options must be a table, got %s"):format(name, typename(opts)))
    end
    opts = opts or {}
    local d = {}
    for k, v in pairs(cls._defaults) do d[k] = copy_value(v) end
    for k, v in pairs(opts) do
      if type(k) ~= "string" or (cls._defaults[k] == nil and not cls._extra_keys[k]) then
        error(("%s() got an unexpected keyword argument '%s'"):format(name, tostring(k)))
      end
      local dv = cls._defaults[k]
      if dv ~= nil and type(v) ~= type(dv) and not (type(dv) == "table" and is_tensor(v)) then
        error(("%s(): option '%s' must be a %s, got %s"):format(name, k,
          type(dv) == "table" and "table" or type(dv), typename(v)))
      end
      d[k] = copy_value(v)
    end
    return d
  end

  function Optimizer.new(cls, params, opts)
    local defaults = parse_opts(cls, opts)
    if cls._check then cls._check(defaults) end
    local self = setmetatable({defaults = defaults, state = {}, param_groups = {}}, cls)
    if is_tensor(params) then
      error("params argument given to the optimizer should be an iterable of Tensors or dicts, but got Tensor")
    end
    if type(params) == "function" then -- an iterator: m:named_parameters() (name, p) or one of tensors
      local list = {}
      for a, b in params do list[#list + 1] = is_tensor(b) and b or a end
      params = list
    end
    if type(params) ~= "table" then
      error("params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
        .. typename(params))
    end
    if #params == 0 then error("optimizer got an empty parameter list") end
    local groups = params
    if is_tensor(params[1]) or type(params[1]) ~= "table" then groups = {{params = params}} end
    for _, g in ipairs(groups) do self:_add_param_group(g) end
    if self._init then self:_init() end
    return self
  end

  ---------------------------------------------------------------- groups
  function Optimizer:_add_param_group(group)
    if type(group) ~= "table" or is_tensor(group) then
      error("param_group must be a dict, but got " .. typename(group))
    end
    local params = group.params
    if params == nil then error("param_group must have a 'params' entry (a list of Tensors)") end
    local g = {}
    for k, v in pairs(group) do g[k] = v end
    if is_tensor(params) then
      g.params = {params}
    elseif type(params) == "table" then
      local list = {}
      for i = 1, #params do list[i] = params[i] end
      g.params = list
    else
      error("optimizer can only optimize Tensors, but one of the params is " .. typename(params))
    end
    for _, p in ipairs(g.params) do
      if not is_tensor(p) then
        error("optimizer can only optimize Tensors, but one of the params is " .. typename(p))
      end
      if not (p.is_leaf or p.retains_grad) then error("can't optimize a non-leaf Tensor") end
    end
    for k, v in pairs(self.defaults) do
      if g[k] == nil then g[k] = copy_value(v) end
    end
    local seen = {}
    for _, other in ipairs(self.param_groups) do
      for _, p in ipairs(other.params) do seen[p] = true end
    end
    for _, p in ipairs(g.params) do
      if seen[p] then error("some parameters appear in more than one parameter group") end
    end
    self.param_groups[#self.param_groups + 1] = g
    return g
  end

  --- opt:add_param_group({params = {...}, lr = ...}): a new group, the defaults filled in
  Optimizer.add_param_group = tg._entry(function(self, group)
    self:_add_param_group(group)
    if self._init_group_state then self:_init_group_state(self.param_groups[#self.param_groups]) end
  end)

  ---------------------------------------------------------------- zero_grad
  --- opt:zero_grad({set_to_none = true}) (or opt:zero_grad(false)): the gradients
  -- of every parameter set to nil, or zeroed in place (detached first)
  Optimizer.zero_grad = tg._entry(function(self, opts)
    local set_to_none = true
    if type(opts) == "boolean" then
      set_to_none = opts
    elseif type(opts) == "table" then
      for k in pairs(opts) do
        if k ~= "set_to_none" then error(("zero_grad() got an unexpected keyword argument '%s'"):format(tostring(k))) end
      end
      if opts.set_to_none ~= nil then set_to_none = opts.set_to_none and true or false end
    elseif opts ~= nil then
      error("zero_grad(): expected an options table {set_to_none = b}, got " .. typename(opts))
    end
    local zero = tg._optim.zero_grad
    for _, g in ipairs(self.param_groups) do zero(g.params, set_to_none) end
  end)

  ---------------------------------------------------------------- step
  --- opt:step([closure]): the closure (run with grad mode on) re-evaluates the
  -- loss; every parameter with a gradient is updated; returns the closure's loss
  Optimizer.step = tg._entry(function(self, closure)
    local loss
    if closure ~= nil then loss = tg.enable_grad(closure) end
    local guard <close> = tg.no_grad()
    local cg = tg._capture_groups -- capture: a replay re-captures when these groups' values change
    if cg then cg[#cg + 1] = self end
    for _, group in ipairs(self.param_groups) do self:_step_group(group) end
    return loss
  end, true)

  ---------------------------------------------------------------- hooks
  -- opt:register_step_pre_hook(fn) / register_step_post_hook(fn): fn(opt, args) runs
  -- before / after every step (args: the step's arguments, a packed list; a pre-hook
  -- may return a replacement list); returns a handle whose :remove() unregisters it
  local function add_hook(self, key, fn)
    if type(fn) ~= "function" and not (type(fn) == "table" and (getmetatable(fn) or {}).__call) then
      error("a hook must be a function, got " .. typename(fn))
    end
    if not rawget(self, "_hooks") then
      local hooks = {pre = {}, post = {}}
      self._hooks = hooks
      local inner = getmetatable(self).step
      self.step = tg._entry(function(opt, ...)
        local args = table.pack(...)
        for _, h in ipairs(hooks.pre) do
          local r = h.fn(opt, args)
          if r ~= nil then args = r; args.n = args.n or #r end
        end
        local res = table.pack(inner(opt, table.unpack(args, 1, args.n)))
        for _, h in ipairs(hooks.post) do h.fn(opt, args) end
        return table.unpack(res, 1, res.n)
      end, true)
    end
    local list = self._hooks[key]
    local entry = {fn = fn}
    list[#list + 1] = entry
    return {remove = function()
      for i, e in ipairs(list) do
        if e == entry then table.remove(list, i) return end
      end
    end}
  end

  Optimizer.register_step_pre_hook = tg._entry(function(self, fn) return add_hook(self, "pre", fn) end)
  Optimizer.register_step_post_hook = tg._entry(function(self, fn) return add_hook(self, "post", fn) end)

  function Optimizer:_step_group()
    error(self.__name .. ": step() is not implemented")
  end

  --- the state table of p (created empty)
  function Optimizer:_state(p)
    local s = self.state[p]
    if not s then
      s = {}
      self.state[p] = s
    end
    return s
  end

  --- for every parameter of group g: update(p, s, step) with its state s (made by
  -- init(p) on the parameter's first step with a gradient) and the step count after
  -- this step; update returns false when p has no gradient (then the count stays)
  local has_grad = tg._optim.has_grad
  function Optimizer:_each(g, key, init, update)
    local state = self.state
    for _, p in ipairs(g.params) do
      local s = state[p]
      if s and s[key] ~= nil then
        local step = s.step + 1
        if update(p, s, step) then
          s.step = step
          local cs = tg._capture_states -- capture: a replay advances this count (src/binding/capture.c)
          if cs then cs[#cs + 1] = s end
        end
      elseif has_grad(p) then
        s = init(p)
        s.step = 0
        state[p] = s
        update(p, s, 1)
        s.step = 1
        local cs = tg._capture_states
        if cs then cs[#cs + 1] = s end
      end
    end
  end
  Optimizer._has_grad = has_grad

  --- a zero tensor like p (contiguous, no grad), for the state
  function Optimizer._zeros(p, value)
    -- capture: the state made on a parameter's first step is made once, not by every replay
    local cs = tg._capture_states
    if cs then tg._capture_record(false) end
    local z = tg.zeros(p.shape, {dtype = p.dtype, device = p.device})
    if value and value ~= 0 then z:fill_(value) end
    if cs then tg._capture_record(true) end
    return z
  end

  ---------------------------------------------------------------- state_dict
  --- opt:state_dict() -> {state = {[pos] = {...}}, param_groups = {{lr = ..., params = {pos, ...}}, ...}}
  -- positions are 1-based over the groups' parameters in order; state tensors are
  -- the optimizer's own (not copies), as PyTorch's
  function Optimizer:state_dict()
    local index, start = {}, 1
    local groups = {}
    for gi, g in ipairs(self.param_groups) do
      local packed = {}
      for k, v in pairs(g) do
        if k ~= "params" then packed[k] = copy_value(v) end
      end
      local ids = {}
      for j, p in ipairs(g.params) do
        if not index[p] then index[p] = start + j - 1 end
        ids[j] = index[p]
      end
      start = start + #g.params
      packed.params = ids
      groups[gi] = packed
    end
    local state = {}
    for p, s in pairs(self.state) do
      local k = index[p]
      if k then
        local c = {}
        for key, v in pairs(s) do c[key] = copy_value(v) end
        state[k] = c
      end
    end
    return {state = state, param_groups = groups}
  end

  -- the per-parameter scalars of the state (Lua numbers in tgrad)
  local SCALAR_STATE = {step = true, mu_product = true, eta = true, mu = true}

  -- a deep copy of a saved state value for parameter p: tensors cloned (floating
  -- ones cast to p's dtype, except 'step'), contiguous and detached
  local function cast(p, v, key)
    if is_tensor(v) and SCALAR_STATE[key] and v:numel() == 1 then
      return v:item() -- PyTorch keeps these as 0-d tensors; tgrad as numbers
    elseif is_tensor(v) then
      local t = v:detach()
      if key ~= "step" and t.dtype.is_floating_point and p.dtype.is_floating_point and t.dtype ~= p.dtype then
        t = t:to(p.dtype)
      end
      return t:clone():contiguous()
    elseif type(v) == "table" then
      local c = {}
      for k, w in pairs(v) do c[k] = cast(p, w, type(k) == "string" and k or nil) end
      return c
    end
    return v
  end

  --- opt:load_state_dict(sd): the state and the groups' options of sd (from
  -- state_dict()), matched to this optimizer's parameters by position
  Optimizer.load_state_dict = tg._entry(function(self, sd)
    if type(sd) ~= "table" or type(sd.param_groups) ~= "table" or type(sd.state) ~= "table" then
      error("load_state_dict(): expected a table with 'state' and 'param_groups' (from state_dict())")
    end
    local groups, saved = self.param_groups, sd.param_groups
    if #groups ~= #saved then error("loaded state dict has a different number of parameter groups") end
    for i = 1, #groups do
      if #groups[i].params ~= #saved[i].params then
        error("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
      end
    end
    local id_map = {}
    for i = 1, #groups do
      for j, id in ipairs(saved[i].params) do id_map[id] = groups[i].params[j] end
    end
    local state = {}
    for k, v in pairs(sd.state) do
      local p = id_map[k]
      if p then state[p] = cast(p, v) end
    end
    local new_groups = {}
    for i = 1, #groups do
      local g = {}
      for k, v in pairs(saved[i]) do
        if k ~= "params" then g[k] = copy_value(v) end
      end
      g.params = groups[i].params
      new_groups[i] = g
    end
    self.state = state
    self.param_groups = new_groups
  end)

  ---------------------------------------------------------------- printing
  function Optimizer.__tostring(self)
    local lines = {self.__name .. " ("}
    for i, g in ipairs(self.param_groups) do
      lines[#lines + 1] = "Parameter Group " .. i
      local keys = {}
      for k in pairs(g) do
        if k ~= "params" then keys[#keys + 1] = tostring(k) end
      end
      table.sort(keys)
      for _, k in ipairs(keys) do lines[#lines + 1] = ("    %s: %s"):format(k, fmt_value(g[k])) end
    end
    lines[#lines + 1] = ")"
    return table.concat(lines, "\n")
  end

  return Optimizer
end
