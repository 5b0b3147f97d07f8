-- tgrad.optim.lr_scheduler: tg.optim.lr_scheduler, PyTorch's learning-rate
-- schedulers with their recursive ("chainable") formulas, so that
-- get_last_lr() sequences equal PyTorch's: StepLR MultiStepLR ConstantLR
-- LinearLR ExponentialLR PolynomialLR CosineAnnealingLR LambdaLR
-- MultiplicativeLR CosineAnnealingWarmRestarts OneCycleLR ReduceLROnPlateau
-- CyclicLR SequentialLR ChainedScheduler.
--
-- Construction: required arguments positional or in the trailing options
-- table, the rest PyTorch's keyword arguments in it:
--   StepLR(opt, 30, {gamma = 0.1})  ==  StepLR(opt, {step_size = 30, gamma = 0.1})
-- Epochs count as PyTorch's (last_epoch is 0 after construction).
return function(tg, optim)
  local is_tensor = tg.is_tensor
  local Optimizer = optim.Optimizer
  local fmt = Optimizer._pyfmt
  local lr_scheduler = {}

  local function typename(v)
    if is_tensor(v) then return "Tensor" end
    if type(v) == "table" and v.__name then return v.__name end
    return type(v)
  end

  local function is_optimizer(o)
    if type(o) ~= "table" then return false end
    local c = getmetatable(o)
    while type(c) == "table" do
      if c == Optimizer then return true end
      local m = getmetatable(c)
      c = m and m.__index
    end
    return false
  end

  -- plain tables (lists, state) copied deeply, tensors and other values shared (the optimizer's copy)
  local copy = optim.Optimizer._copy_value

  local function group_values(optimizer, key)
    local out = {}
    for i, g in ipairs(optimizer.param_groups) do out[i] = g[key] end
    return out
  end

  -- a per-group value: one number for every group, or a list with one per group
  local function format_param(name, optimizer, param)
    local n = #optimizer.param_groups
    if type(param) == "table" then
      if #param ~= n then
        error(("%s must have the same length as optimizer.param_groups. %s has %d values, param_groups has %d.")
          :format(name, name, #param, n))
      end
      return copy(param)
    end
    local out = {}
    for i = 1, n do out[i] = param end
    return out
  end

  local function is_positive_int(x) return math.type(x) == "integer" and x > 0 end

  -- the new lrs into the optimizer's groups (one per group, as PyTorch's strict zip)
  local function set_lrs(self, values)
    local groups = self.optimizer.param_groups
    if #values ~= #groups then
      error(("%s: the optimizer has %d parameter groups, the scheduler computed %d learning rates "
        .. "(a group added after the scheduler was made?)"):format(self.__name, #groups, #values))
    end
    for i, g in ipairs(groups) do g.lr = values[i] end
  end

  ---------------------------------------------------------------- base class
  local LRScheduler = {__name = "LRScheduler"}
  LRScheduler.__index = LRScheduler
  lr_scheduler.LRScheduler = LRScheduler

  -- the trailing options table: a table with string keys (not a list, not a tensor)
  local function is_options(t)
    return type(t) == "table" and not is_tensor(t) and getmetatable(t) == nil and t[1] == nil
  end

  local function construct(cls, ...)
    local name = cls.__name
    local optimizer
    if not cls._no_optimizer then optimizer = ... end
    local args = table.pack(select(cls._no_optimizer and 1 or 2, ...))
    local n = args.n
    local opts = {}
    -- (an empty table where a required argument is missing is that argument: ChainedScheduler({}))
    if n > 0 and is_options(args[n]) and not (next(args[n]) == nil and n - 1 < #cls._required) then
      opts, n = args[n], n - 1
    end
    local a = {}
    for k, v in pairs(opts) do
      if type(k) ~= "string" or not cls._accepts[k] then
        error(("%s() got an unexpected keyword argument '%s'"):format(name, tostring(k)))
      end
      a[k] = v
    end
    for i = 1, n do
      local key = cls._positional[i]
      if not key then
        error(("%s() takes %d positional arguments after the optimizer but %d were given")
          :format(name, #cls._positional, n))
      end
      if a[key] ~= nil then error(("%s() got multiple values for argument '%s'"):format(name, key)) end
      a[key] = args[i]
    end
    local missing = {}
    for _, key in ipairs(cls._required) do
      if a[key] == nil then missing[#missing + 1] = "'" .. key .. "'" end
    end
    if #missing > 0 then
      error(("%s() missing %d required positional argument%s: %s"):format(name, #missing, #missing > 1 and "s" or "",
        table.concat(missing, " and ")))
    end
    for k, v in pairs(cls._defaults) do
      if a[k] == nil then a[k] = copy(v) end
    end
    if not cls._no_optimizer and not is_optimizer(optimizer) then
      error(typename(optimizer) .. " is not an Optimizer")
    end
    local self = setmetatable({optimizer = optimizer}, cls)
    cls._construct(self, optimizer, a)
    return self
  end

  --- LRScheduler:extend(name, positional, required, defaults): a scheduler class,
  -- called as Class(optimizer, positional..., {options}); _construct(self, optimizer, args)
  function LRScheduler:extend(name, positional, required, defaults)
    local cls = {}
    for k, v in pairs(self) do
      if type(k) == "string" and k:sub(1, 2) == "__" then cls[k] = v end
    end
    cls.__index = cls
    cls.__name = name
    cls._positional = positional or {}
    cls._required = required or {}
    cls._defaults = defaults or {}
    cls._accepts = {}
    for _, k in ipairs(cls._positional) do cls._accepts[k] = true end
    for k in pairs(cls._defaults) do cls._accepts[k] = true end
    for _, k in ipairs(cls._extra or {}) do cls._accepts[k] = true end
    lr_scheduler[name] = cls
    return setmetatable(cls, {
      __index = self,
      __call = tg._entry(construct),
      __tostring = function() return "tgrad.optim.lr_scheduler." .. name end,
    })
  end

  -- PyTorch's LRScheduler.__init__: initial_lr in every group, base_lrs, the initial step
  function LRScheduler:_base_init(optimizer, last_epoch)
    last_epoch = last_epoch or -1
    if last_epoch == -1 then
      for _, g in ipairs(optimizer.param_groups) do
        if g.initial_lr == nil then g.initial_lr = g.lr end
      end
    else
      for i, g in ipairs(optimizer.param_groups) do
        if g.initial_lr == nil then
          error(("param 'initial_lr' is not specified in param_groups[%d] when resuming scheduler with "
            .. "last_epoch >= 0.\nThis typically happens when:\n1. You're trying to resume training from a "
            .. "checkpoint but haven't properly loaded the optimizer state\n2. You're using last_epoch >= 0 for "
            .. "a fresh training run (not recommended)"):format(i))
        end
      end
    end
    self.base_lrs = group_values(optimizer, "initial_lr")
    self.last_epoch = last_epoch
    self:_initial_step()
  end

  function LRScheduler:_initial_step()
    self._step_count = 0
    self._is_initial = true
    self:_step()
    self._is_initial = false
  end

  function LRScheduler:get_lr() error(self.__name .. ": get_lr() is not implemented") end

  function LRScheduler:_step(epoch)
    self._step_count = self._step_count + 1
    self:_update_lr(epoch)
  end

  function LRScheduler:_update_lr(epoch)
    local values
    if epoch == nil then
      self.last_epoch = self.last_epoch + 1
      values = self:get_lr()
    else
      self.last_epoch = epoch
      if self._get_closed_form_lr then values = self:_get_closed_form_lr() else values = self:get_lr() end
    end
    set_lrs(self, values)
    self._last_lr = group_values(self.optimizer, "lr")
  end

  --- scheduler:step([epoch]): the next learning rates into the optimizer's groups
  -- (an explicit epoch uses the closed form where there is one, as PyTorch's)
  LRScheduler.step = tg._entry(function(self, epoch) return self:_step(epoch) end)

  --- scheduler:get_last_lr(): the learning rates of the last step, one per group
  function LRScheduler:get_last_lr() return copy(self._last_lr) end

  --- scheduler:state_dict(): every field but the optimizer (and functions)
  function LRScheduler:state_dict()
    local sd = {}
    for k, v in pairs(self) do
      if k ~= "optimizer" and type(v) ~= "function" then sd[k] = copy(v) end
    end
    if self.lr_lambdas then sd.lr_lambdas = {} end
    return sd
  end

  function LRScheduler:load_state_dict(sd)
    for k, v in pairs(sd) do
      if k ~= "lr_lambdas" then self[k] = copy(v) end
    end
  end

  function LRScheduler.__tostring(self) return ("<%s>"):format(self.__name) end

  ---------------------------------------------------------------- LambdaLR, MultiplicativeLR
  local function lambdas(self, optimizer, lr_lambda)
    local n = #optimizer.param_groups
    if type(lr_lambda) == "table" and getmetatable(lr_lambda) == nil then
      if #lr_lambda ~= n then error(("Expected %d lr_lambdas, but got %d"):format(n, #lr_lambda)) end
      self.lr_lambdas = copy(lr_lambda)
    else
      self.lr_lambdas = {}
      for i = 1, n do self.lr_lambdas[i] = lr_lambda end
    end
    for _, f in ipairs(self.lr_lambdas) do
      if type(f) ~= "function" and not (type(f) == "table" and (getmetatable(f) or {}).__call) then
        error("lr_lambda should be a function, but got " .. typename(f))
      end
    end
  end

  local LambdaLR = LRScheduler:extend("LambdaLR", {"lr_lambda"}, {"lr_lambda"}, {last_epoch = -1})
  function LambdaLR:_construct(optimizer, a)
    lambdas(self, optimizer, a.lr_lambda)
    self:_base_init(optimizer, a.last_epoch)
  end
  function LambdaLR:get_lr()
    local out = {}
    for i, base in ipairs(self.base_lrs) do out[i] = base * self.lr_lambdas[i](self.last_epoch) end
    return out
  end

  local MultiplicativeLR = LRScheduler:extend("MultiplicativeLR", {"lr_lambda"}, {"lr_lambda"}, {last_epoch = -1})
  function MultiplicativeLR:_construct(optimizer, a)
    lambdas(self, optimizer, a.lr_lambda)
    self:_base_init(optimizer, a.last_epoch)
  end
  function MultiplicativeLR:get_lr()
    if self._is_initial then return group_values(self.optimizer, "lr") end
    local out = {}
    for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * self.lr_lambdas[i](self.last_epoch) end
    return out
  end

  -- every group's lr times f
  local function scaled(self, f)
    local out = {}
    for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * f end
    return out
  end

  ---------------------------------------------------------------- StepLR, MultiStepLR
  local StepLR = LRScheduler:extend("StepLR", {"step_size"}, {"step_size"}, {gamma = 0.1, last_epoch = -1})
  function StepLR:_construct(optimizer, a)
    self.step_size, self.gamma = a.step_size, a.gamma
    self:_base_init(optimizer, a.last_epoch)
  end
  function StepLR:get_lr()
    if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return group_values(self.optimizer, "lr") end
    return scaled(self, self.gamma)
  end
  function StepLR:_get_closed_form_lr()
    local out = {}
    for i, base in ipairs(self.base_lrs) do out[i] = base * self.gamma ^ (self.last_epoch // self.step_size) end
    return out
  end

  local MultiStepLR = LRScheduler:extend("MultiStepLR", {"milestones"}, {"milestones"}, {gamma = 0.1, last_epoch = -1})
  function MultiStepLR:_construct(optimizer, a)
    if type(a.milestones) ~= "table" then error("milestones must be a list of epochs, got " .. typename(a.milestones)) end
    self.milestones = {} -- epoch -> count (PyTorch's Counter)
    for _, m in ipairs(a.milestones) do self.milestones[m] = (self.milestones[m] or 0) + 1 end
    self.gamma = a.gamma
    self:_base_init(optimizer, a.last_epoch)
  end
  function MultiStepLR:get_lr()
    local c = self.milestones[self.last_epoch]
    if not c then return group_values(self.optimizer, "lr") end
    return scaled(self, self.gamma ^ c)
  end
  function MultiStepLR:_get_closed_form_lr()
    local passed = 0
    for m, c in pairs(self.milestones) do
      if m <= self.last_epoch then passed = passed + c end
    end
    local out = {}
    for i, base in ipairs(self.base_lrs) do out[i] = base * self.gamma ^ passed end
    return out
  end

  ---------------------------------------------------------------- ConstantLR, LinearLR
  local ConstantLR = LRScheduler:extend("ConstantLR", {}, {}, {factor = 1.0 / 3, total_iters = 5, last_epoch = -1})
  function ConstantLR:_construct(optimizer, a)
    if a.factor > 1.0 or a.factor < 0 then error("Constant multiplicative factor expected to be between 0 and 1.") end
    self.factor, self.total_iters = a.factor, a.total_iters
    self:_base_init(optimizer, a.last_epoch)
  end
  function ConstantLR:get_lr()
    if self.last_epoch == 0 then return scaled(self, self.factor) end
    if self.last_epoch ~= self.total_iters then return group_values(self.optimizer, "lr") end
    return scaled(self, 1.0 / self.factor)
  end
  function ConstantLR:_get_closed_form_lr()
    local out = {}
    local f = self.factor + (self.last_epoch >= self.total_iters and 1 or 0) * (1 - self.factor)
    for i, base in ipairs(self.base_lrs) do out[i] = base * f end
    return out
  end

  local LinearLR = LRScheduler:extend("LinearLR", {}, {},
    {start_factor = 1.0 / 3, end_factor = 1.0, total_iters = 5, last_epoch = -1})
  function LinearLR:_construct(optimizer, a)
    if a.start_factor > 1.0 or a.start_factor <= 0 then
      error("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
    end
    if a.end_factor > 1.0 or a.end_factor < 0 then
      error("Ending multiplicative factor expected to be between 0 and 1.")
    end
    self.start_factor, self.end_factor, self.total_iters = a.start_factor, a.end_factor, a.total_iters
    self:_base_init(optimizer, a.last_epoch)
  end
  function LinearLR:get_lr()
    if self.last_epoch == 0 then return scaled(self, self.start_factor) end
    if self._is_initial or self.last_epoch > self.total_iters then return group_values(self.optimizer, "lr") end
    local s, e = self.start_factor, self.end_factor
    return scaled(self, 1.0 + (e - s) / (self.total_iters * s + (self.last_epoch - 1) * (e - s)))
  end
  function LinearLR:_get_closed_form_lr()
    local s, e = self.start_factor, self.end_factor
    local f = s + (e - s) * math.min(self.total_iters, self.last_epoch) / self.total_iters
    local out = {}
    for i, base in ipairs(self.base_lrs) do out[i] = base * f end
    return out
  end

  ---------------------------------------------------------------- ExponentialLR, PolynomialLR
  local ExponentialLR = LRScheduler:extend("ExponentialLR", {"gamma"}, {"gamma"}, {last_epoch = -1})
  function ExponentialLR:_construct(optimizer, a)
    self.gamma = a.gamma
    self:_base_init(optimizer, a.last_epoch)
  end
  function ExponentialLR:get_lr()
    if self._is_initial then return group_values(self.optimizer, "lr") end
    return scaled(self, self.gamma)
  end
  function ExponentialLR:_get_closed_form_lr()
    local out = {}
    for i, base in ipairs(self.base_lrs) do out[i] = base * self.gamma ^ self.last_epoch end
    return out
  end

  local PolynomialLR = LRScheduler:extend("PolynomialLR", {}, {}, {total_iters = 5, power = 1.0, last_epoch = -1})
  function PolynomialLR:_construct(optimizer, a)
    self.total_iters, self.power = a.total_iters, a.power
    self:_base_init(optimizer, a.last_epoch)
  end
  function PolynomialLR:get_lr()
    if self._is_initial or self.last_epoch > self.total_iters then return group_values(self.optimizer, "lr") end
    local n = self.total_iters
    return scaled(self, ((1.0 - self.last_epoch / n) / (1.0 - (self.last_epoch - 1) / n)) ^ self.power)
  end
  function PolynomialLR:_get_closed_form_lr()
    local out = {}
    local f = (1.0 - math.min(self.total_iters, self.last_epoch) / self.total_iters) ^ self.power
    for i, base in ipairs(self.base_lrs) do out[i] = base * f end
    return out
  end

  ---------------------------------------------------------------- CosineAnnealingLR
  local CosineAnnealingLR = LRScheduler:extend("CosineAnnealingLR", {"T_max"}, {"T_max"},
    {eta_min = 0.0, last_epoch = -1})
  function CosineAnnealingLR:_construct(optimizer, a)
    self.T_max, self.eta_min = a.T_max, a.eta_min
    self:_base_init(optimizer, a.last_epoch)
  end
  function CosineAnnealingLR:get_lr()
    local pi, cos = math.pi, math.cos
    local e, T, eta = self.last_epoch, self.T_max, self.eta_min
    local groups = self.optimizer.param_groups
    local out = {}
    if self._is_initial then return group_values(self.optimizer, "lr") end
    if self._step_count == 1 and e > 0 then
      for i, base in ipairs(self.base_lrs) do out[i] = eta + (base - eta) * (1 + cos(e * pi / T)) / 2 end
    elseif (e - 1 - T) % (2 * T) == 0 then
      for i, base in ipairs(self.base_lrs) do out[i] = groups[i].lr + (base - eta) * (1 - cos(pi / T)) / 2 end
    else
      for i, g in ipairs(groups) do
        out[i] = (1 + cos(pi * e / T)) / (1 + cos(pi * (e - 1) / T)) * (g.lr - eta) + eta
      end
    end
    return out
  end
  function CosineAnnealingLR:_get_closed_form_lr()
    local out = {}
    for i, base in ipairs(self.base_lrs) do
      out[i] = self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
    end
    return out
  end

  ---------------------------------------------------------------- CosineAnnealingWarmRestarts
  local CAWR = LRScheduler:extend("CosineAnnealingWarmRestarts", {"T_0"}, {"T_0"},
    {T_mult = 1, eta_min = 0.0, last_epoch = -1})
  function CAWR:_construct(optimizer, a)
    if not is_positive_int(a.T_0) then error("Expected positive integer T_0, but got " .. fmt(a.T_0)) end
    if math.type(a.T_mult) ~= "integer" or a.T_mult < 1 then
      error("Expected integer T_mult >= 1, but got " .. fmt(a.T_mult))
    end
    if type(a.eta_min) ~= "number" then
      error(("Expected float or int eta_min, but got %s of type %s"):format(tostring(a.eta_min), type(a.eta_min)))
    end
    self.T_0, self.T_i, self.T_mult, self.eta_min = a.T_0, a.T_0, a.T_mult, a.eta_min
    self.T_cur = a.last_epoch
    self:_base_init(optimizer, a.last_epoch)
  end
  function CAWR:get_lr()
    local out = {}
    for i, base in ipairs(self.base_lrs) do
      out[i] = self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
    end
    return out
  end
  function CAWR:_step(epoch)
    if epoch == nil and self.last_epoch < 0 then epoch = 0 end
    if epoch == nil then
      epoch = self.last_epoch + 1
      self.T_cur = self.T_cur + 1
      if self.T_cur >= self.T_i then
        self.T_cur = self.T_cur % self.T_i
        self.T_i = self.T_i * self.T_mult
      end
    else
      if epoch < 0 then error("Expected non-negative epoch, but got " .. fmt(epoch)) end
      if epoch >= self.T_0 then
        if self.T_mult == 1 then
          self.T_cur = epoch % self.T_0
        else
          local n = math.floor(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
          self.T_cur = epoch - self.T_0 * (self.T_mult ^ n - 1) / (self.T_mult - 1)
          self.T_i = self.T_0 * self.T_mult ^ n
        end
      else
        self.T_i = self.T_0
        self.T_cur = epoch
      end
    end
    self.last_epoch = math.floor(epoch)
    self._step_count = self._step_count + 1
    local values = self:get_lr()
    set_lrs(self, values)
    self._last_lr = group_values(self.optimizer, "lr")
  end

  ---------------------------------------------------------------- OneCycleLR
  local OneCycleLR = LRScheduler:extend("OneCycleLR", {"max_lr"}, {"max_lr"}, {
    total_steps = false, epochs = false, steps_per_epoch = false, pct_start = 0.3, anneal_strategy = "cos",
    cycle_momentum = true, base_momentum = 0.85, max_momentum = 0.95, div_factor = 25.0,
    final_div_factor = 1e4, three_phase = false, last_epoch = -1,
  })
  function OneCycleLR:_construct(optimizer, a)
    if a.total_steps then
      if not is_positive_int(a.total_steps) then
        error("Expected positive integer total_steps, but got " .. fmt(a.total_steps))
      end
      self.total_steps = a.total_steps
    elseif a.epochs and a.steps_per_epoch then
      if not is_positive_int(a.epochs) then error("Expected positive integer epochs, but got " .. fmt(a.epochs)) end
      if not is_positive_int(a.steps_per_epoch) then
        error("Expected positive integer steps_per_epoch, but got " .. fmt(a.steps_per_epoch))
      end
      self.total_steps = a.epochs * a.steps_per_epoch
    else
      error("You must define either total_steps OR (epochs AND steps_per_epoch)")
    end
    local pct, n = a.pct_start, self.total_steps
    if a.three_phase then
      self._schedule_phases = {
        {end_step = pct * n - 1, start_lr = "initial_lr", end_lr = "max_lr",
         start_momentum = "max_momentum", end_momentum = "base_momentum"},
        {end_step = 2 * pct * n - 2, start_lr = "max_lr", end_lr = "initial_lr",
         start_momentum = "base_momentum", end_momentum = "max_momentum"},
        {end_step = n - 1, start_lr = "initial_lr", end_lr = "min_lr",
         start_momentum = "max_momentum", end_momentum = "max_momentum"},
      }
    else
      self._schedule_phases = {
        {end_step = pct * n - 1, start_lr = "initial_lr", end_lr = "max_lr",
         start_momentum = "max_momentum", end_momentum = "base_momentum"},
        {end_step = n - 1, start_lr = "max_lr", end_lr = "min_lr",
         start_momentum = "base_momentum", end_momentum = "max_momentum"},
      }
    end
    if type(pct) ~= "number" or pct < 0 or pct > 1 then
      error("Expected float between 0 and 1 pct_start, but got " .. fmt(pct))
    end
    if a.anneal_strategy ~= "cos" and a.anneal_strategy ~= "linear" then
      error(("anneal_strategy must be one of 'cos' or 'linear', instead got %s"):format(tostring(a.anneal_strategy)))
    end
    self._anneal_func_type = a.anneal_strategy
    local max_lrs = format_param("max_lr", optimizer, a.max_lr)
    if a.last_epoch == -1 then
      for i, g in ipairs(optimizer.param_groups) do
        g.initial_lr = max_lrs[i] / a.div_factor
        g.max_lr = max_lrs[i]
        g.min_lr = g.initial_lr / a.final_div_factor
      end
    end
    self.cycle_momentum = a.cycle_momentum and true or false
    if self.cycle_momentum then
      if optimizer.defaults.momentum == nil and optimizer.defaults.betas == nil then
        error("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
      end
      self.use_beta1 = optimizer.defaults.betas ~= nil
      local max_m = format_param("max_momentum", optimizer, a.max_momentum)
      local base_m = format_param("base_momentum", optimizer, a.base_momentum)
      if a.last_epoch == -1 then
        for i, g in ipairs(optimizer.param_groups) do
          if self.use_beta1 then g.betas = {max_m[i], g.betas[2]} else g.momentum = max_m[i] end
          g.max_momentum, g.base_momentum = max_m[i], base_m[i]
        end
      end
    end
    self:_base_init(optimizer, a.last_epoch)
  end

  local function anneal(kind, start, stop, pct)
    if kind == "cos" then return stop + (start - stop) / 2.0 * (math.cos(math.pi * pct) + 1) end
    return (stop - start) * pct + start
  end

  function OneCycleLR:get_lr()
    local step_num = self.last_epoch
    if step_num > self.total_steps then
      error(("Tried to step %d times. The specified number of total steps is %d"):format(step_num, self.total_steps))
    end
    local lrs = {}
    local phases = self._schedule_phases
    for gi, g in ipairs(self.optimizer.param_groups) do
      local start_step = 0.0
      local lr, momentum
      for i, phase in ipairs(phases) do
        local end_step = phase.end_step
        if step_num <= end_step or i == #phases then
          local pct = (step_num - start_step) / (end_step - start_step)
          lr = anneal(self._anneal_func_type, g[phase.start_lr], g[phase.end_lr], pct)
          if self.cycle_momentum then
            momentum = anneal(self._anneal_func_type, g[phase.start_momentum], g[phase.end_momentum], pct)
          end
          break
        end
        start_step = phase.end_step
      end
      lrs[gi] = lr
      if self.cycle_momentum then
        if self.use_beta1 then g.betas = {momentum, g.betas[2]} else g.momentum = momentum end
      end
    end
    return lrs
  end

  ---------------------------------------------------------------- ReduceLROnPlateau
  local ReduceLROnPlateau = LRScheduler:extend("ReduceLROnPlateau", {}, {}, {
    mode = "min", factor = 0.1, patience = 10, threshold = 1e-4, threshold_mode = "rel", cooldown = 0,
    min_lr = 0, eps = 1e-8,
  })
  function ReduceLROnPlateau:_construct(optimizer, a)
    if a.factor >= 1.0 then error("Factor should be < 1.0.") end
    self.factor = a.factor
    if type(a.min_lr) == "table" then
      if #a.min_lr ~= #optimizer.param_groups then
        error(("expected %d min_lrs, got %d"):format(#optimizer.param_groups, #a.min_lr))
      end
      self.default_min_lr = nil
      self.min_lrs = copy(a.min_lr)
    else
      self.default_min_lr = a.min_lr
      self.min_lrs = format_param("min_lr", optimizer, a.min_lr)
    end
    self.patience, self.cooldown, self.eps = a.patience, a.cooldown, a.eps
    self.last_epoch = 0
    self._last_lr = group_values(optimizer, "lr")
    self:_init_is_better(a.mode, a.threshold, a.threshold_mode)
    self:_reset()
  end
  function ReduceLROnPlateau:_init_is_better(mode, threshold, threshold_mode)
    if mode ~= "min" and mode ~= "max" then error("mode " .. tostring(mode) .. " is unknown!") end
    if threshold_mode ~= "rel" and threshold_mode ~= "abs" then
      error("threshold mode " .. tostring(threshold_mode) .. " is unknown!")
    end
    self.mode_worse = mode == "min" and math.huge or -math.huge
    self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
  end
  function ReduceLROnPlateau:_reset()
    self.best = self.mode_worse
    self.cooldown_counter = 0
    self.num_bad_epochs = 0
  end
  function ReduceLROnPlateau:_is_better(x, best)
    if self.mode == "min" and self.threshold_mode == "rel" then return x < best * (1.0 - self.threshold) end
    if self.mode == "min" then return x < best - self.threshold end
    if self.threshold_mode == "rel" then return x > best * (self.threshold + 1.0) end
    return x > best + self.threshold
  end
  function ReduceLROnPlateau:_reduce_lr()
    local groups = self.optimizer.param_groups
    if #groups ~= #self.min_lrs then
      if self.default_min_lr == nil then
        error(("The number of param groups in the `optimizer` (%d) differs from when `ReduceLROnPlateau` was "
          .. "initialized (%d), usually due to a new param group being added to the optimizer. Please modify the "
          .. "`min_lrs` field to match the length of the `optimizer` param groups."):format(#groups, #self.min_lrs))
      end
      self.min_lrs = format_param("min_lr", self.optimizer, self.default_min_lr)
    end
    for i, g in ipairs(groups) do
      local old_lr = g.lr
      local new_lr = math.max(old_lr * self.factor, self.min_lrs[i])
      if old_lr - new_lr > self.eps then g.lr = new_lr end
    end
  end
  --- scheduler:step(metric [, epoch]): metric a number or a one-element tensor
  ReduceLROnPlateau.step = tg._entry(function(self, metrics, epoch)
    local current = is_tensor(metrics) and metrics:item() or tonumber(metrics)
    if current == nil then error("ReduceLROnPlateau.step() expects the metric as a number, got " .. typename(metrics)) end
    if epoch == nil then epoch = self.last_epoch + 1 end
    self.last_epoch = epoch
    if self:_is_better(current, self.best) then
      self.best = current
      self.num_bad_epochs = 0
    else
      self.num_bad_epochs = self.num_bad_epochs + 1
    end
    if self.cooldown_counter > 0 then
      self.cooldown_counter = self.cooldown_counter - 1
      self.num_bad_epochs = 0
    end
    if self.num_bad_epochs > self.patience then
      self:_reduce_lr()
      self.cooldown_counter = self.cooldown
      self.num_bad_epochs = 0
    end
    self._last_lr = group_values(self.optimizer, "lr")
  end)
  function ReduceLROnPlateau:load_state_dict(sd)
    LRScheduler.load_state_dict(self, sd)
    self:_init_is_better(self.mode, self.threshold, self.threshold_mode)
  end

  ---------------------------------------------------------------- CyclicLR
  local CyclicLR = LRScheduler:extend("CyclicLR", {"base_lr", "max_lr"}, {"base_lr", "max_lr"}, {
    step_size_up = 2000, step_size_down = false, mode = "triangular", gamma = 1.0, scale_fn = false,
    scale_mode = "cycle", cycle_momentum = true, base_momentum = 0.8, max_momentum = 0.9, last_epoch = -1,
  })
  function CyclicLR:_construct(optimizer, a)
    local base_lrs = format_param("base_lr", optimizer, a.base_lr)
    if a.last_epoch == -1 then
      for i, g in ipairs(optimizer.param_groups) do g.lr = base_lrs[i] end
    end
    self.max_lrs = format_param("max_lr", optimizer, a.max_lr)
    local up = a.step_size_up + 0.0
    local down = a.step_size_down and a.step_size_down + 0.0 or up
    self.total_size = up + down
    self.step_ratio = up / self.total_size
    local mode = a.mode
    if mode ~= "triangular" and mode ~= "triangular2" and mode ~= "exp_range" and not a.scale_fn then
      error("mode is invalid and scale_fn is None")
    end
    self.mode, self.gamma = mode, a.gamma
    self._scale_fn_custom = a.scale_fn or nil
    self.scale_mode = a.scale_mode
    if not self._scale_fn_custom then
      self.scale_mode = mode == "exp_range" and "iterations" or "cycle"
    end
    self.cycle_momentum = a.cycle_momentum and true or false
    if self.cycle_momentum then
      if optimizer.defaults.momentum == nil and optimizer.defaults.betas == nil then
        error("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
      end
      self.use_beta1 = optimizer.defaults.betas ~= nil
      self.base_momentums = format_param("base_momentum", optimizer, a.base_momentum)
      self.max_momentums = format_param("max_momentum", optimizer, a.max_momentum)
      if a.last_epoch == -1 then
        for i, g in ipairs(optimizer.param_groups) do
          if self.use_beta1 then g.betas = {self.max_momentums[i], g.betas[2]} else g.momentum = self.max_momentums[i] end
          g.max_momentum, g.base_momentum = self.max_momentums[i], self.base_momentums[i]
        end
      end
    end
    self:_base_init(optimizer, a.last_epoch)
    self.base_lrs = base_lrs
  end
  function CyclicLR:scale_fn(x)
    if self._scale_fn_custom then return self._scale_fn_custom(x) end
    if self.mode == "triangular" then return 1.0 end
    if self.mode == "triangular2" then return 1 / 2.0 ^ (x - 1) end
    return self.gamma ^ x
  end
  function CyclicLR:get_lr()
    local cycle = math.floor(1 + self.last_epoch / self.total_size)
    local x = 1.0 + self.last_epoch / self.total_size - cycle
    local scale_factor
    if x <= self.step_ratio then scale_factor = x / self.step_ratio
    else scale_factor = (x - 1) / (self.step_ratio - 1) end
    local at = self.scale_mode == "cycle" and cycle or self.last_epoch
    local lrs = {}
    for i, base in ipairs(self.base_lrs) do
      lrs[i] = base + (self.max_lrs[i] - base) * scale_factor * self:scale_fn(at)
    end
    if self.cycle_momentum then
      for i, g in ipairs(self.optimizer.param_groups) do
        local base_height = (self.max_momentums[i] - self.base_momentums[i]) * scale_factor
        local m = self.max_momentums[i] - base_height * self:scale_fn(at)
        if self.use_beta1 then g.betas = {m, g.betas[2]} else g.momentum = m end
      end
    end
    return lrs
  end

  ---------------------------------------------------------------- SequentialLR, ChainedScheduler
  local function check_children(name, optimizer, schedulers)
    for i, sch in ipairs(schedulers) do
      if type(sch) ~= "table" or sch.optimizer == nil then
        error(("%s at index %d should have `optimizer` as its attribute."):format(name, i))
      end
      if getmetatable(sch) == ReduceLROnPlateau then
        error(("%s does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be "
          .. "specified when calling `step`, but got one at index %d in the given schedulers sequence.")
          :format(name, i))
      end
      if sch.optimizer ~= optimizer then
        error(("%s expects all schedulers to belong to the same optimizer, but got scheduler %s at index %d "
          .. "has a different optimizer."):format(name, sch.__name, i))
      end
    end
  end

  local function children_state(self)
    local sd = {}
    for k, v in pairs(self) do
      if k ~= "optimizer" and k ~= "_schedulers" and type(v) ~= "function" then sd[k] = copy(v) end
    end
    sd._schedulers = {}
    for i, sch in ipairs(self._schedulers) do sd._schedulers[i] = sch:state_dict() end
    return sd
  end

  local function load_children(self, sd)
    for k, v in pairs(sd) do
      if k ~= "_schedulers" then self[k] = copy(v) end
    end
    for i, s in ipairs(sd._schedulers or {}) do self._schedulers[i]:load_state_dict(s) end
  end

  -- the first milestone above epoch (Python's bisect_right), 1-based
  local function bisect_right(list, x)
    local i = 1
    while i <= #list and list[i] <= x do i = i + 1 end
    return i
  end

  local SequentialLR = LRScheduler:extend("SequentialLR", {"schedulers", "milestones"}, {"schedulers", "milestones"},
    {last_epoch = -1})
  function SequentialLR:_construct(optimizer, a)
    local schedulers, milestones = a.schedulers, a.milestones
    if #schedulers < 1 then error("SequentialLR expects at least one scheduler, but got no scheduler.") end
    check_children("SequentialLR", optimizer, schedulers)
    if #milestones ~= #schedulers - 1 then
      error(("Sequential Schedulers expects number of schedulers provided to be one more than the number of "
        .. "milestone points, but got number of schedulers %d and the number of milestones to be equal to %d")
        :format(#schedulers, #milestones))
    end
    self._schedulers = {}
    for i, sch in ipairs(schedulers) do self._schedulers[i] = sch end
    self._milestones = copy(milestones)
    self.last_epoch = a.last_epoch + 1
    for _, g in ipairs(optimizer.param_groups) do g.lr = g.initial_lr end
    local function undo(sch) -- one epoch back, through nested sequences
      if sch._schedulers then
        for _, c in ipairs(sch._schedulers) do undo(c) end
      elseif sch.last_epoch then
        sch.last_epoch = sch.last_epoch - 1
      end
    end
    for _, sch in ipairs(self._schedulers) do undo(sch) end
    local first = self._schedulers[bisect_right(self._milestones, 0)]
    first:_initial_step()
    self._last_lr = first:get_last_lr()
  end
  function SequentialLR:_step()
    self.last_epoch = self.last_epoch + 1
    local idx = bisect_right(self._milestones, self.last_epoch)
    local sch = self._schedulers[idx]
    if idx > 1 and self._milestones[idx - 1] == self.last_epoch then
      sch:_update_lr(0)
    else
      sch:_step()
    end
    self._last_lr = sch:get_last_lr()
  end
  SequentialLR.state_dict = children_state
  SequentialLR.load_state_dict = load_children

  --- ChainedScheduler(schedulers [, optimizer]): every scheduler steps at each step
  local ChainedScheduler = LRScheduler:extend("ChainedScheduler", {"schedulers", "optimizer"}, {"schedulers"}, {})
  ChainedScheduler._no_optimizer = true
  function ChainedScheduler:_construct(_, a)
    local schedulers = a.schedulers
    if type(schedulers) ~= "table" or #schedulers < 1 then
      error("ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.")
    end
    local optimizer = a.optimizer or schedulers[1].optimizer
    check_children("ChainedScheduler", optimizer, schedulers)
    self._schedulers = {}
    for i, sch in ipairs(schedulers) do self._schedulers[i] = sch end
    self.optimizer = optimizer
    self._last_lr = group_values(self._schedulers[#self._schedulers].optimizer, "lr")
  end
  function ChainedScheduler:_step()
    for _, sch in ipairs(self._schedulers) do sch:_step() end
    self._last_lr = group_values(self._schedulers[#self._schedulers].optimizer, "lr")
  end
  ChainedScheduler.state_dict = children_state
  ChainedScheduler.load_state_dict = load_children

  return lr_scheduler
end
