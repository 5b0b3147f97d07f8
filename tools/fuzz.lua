-- fuzz.lua: a seeded fuzzer for tgrad. It writes random Lua statements over a
-- few variable slots (v[1] .. v[NSLOTS]) and runs each in a pcall: random op
-- sequences over random shapes (0-size dims, scalars, non-contiguous views,
-- broadcasting), all dtypes, in-place ops on views, backward with
-- retain_graph / create_graph and hooks, field writes (.grad, .data,
-- .requires_grad), and random bad arguments (nil, wrong types, huge and
-- negative sizes, NaN/inf, out-of-range dims, deep graphs, huge allocations)
-- to every function of tg, tg.autograd, tg.nn.functional and every Tensor
-- method. A Lua error is fine; a crash is the process dying (a signal, a
-- sanitizer report) or hanging. Every statement is logged before it runs, so a
-- crash can be replayed and minimised (delta debugging over the statements) to
-- the few lines that still crash.
--
--   lua5.4 tools/fuzz.lua --seed S --calls N [--per-seed K]
--        runs N calls from seed S on, K calls (default 20000) per child process
--   lua5.4 tools/fuzz.lua --seeds S --total N [--per-seed K]   (the same)
--   lua5.4 tools/fuzz.lua --child S K LOG    one seed, in this process
--   lua5.4 tools/fuzz.lua --replay FILE       run a logged or minimised program
--
-- `make fuzz` runs 1,000,000 calls under ASan/UBSan, `make check` a fixed
-- 100,000-call slice. Exit status 0: no crash.
local NSLOTS = 12
local MAX_NUMEL = 1 << 16 -- larger results are dropped from their slot (speed)
local MEM_LIMIT = 256 << 20 -- huge allocations fail cleanly at tg.set_memory_limit
local CHILD_TIMEOUT = 600 -- seconds per child before it counts as a hang
local STMT_TIMEOUT = 20 -- CPU seconds one statement may take (checked while Lua code runs)

local args = {...}
-- Known bug classes (issue 9's list) are probed first, each in a child
-- process: a class whose probe still crashes is guarded (calls that would
-- reach it raise a Lua error instead of running) so that the run tests
-- everything else, and the summary names the guarded classes. Where every
-- probe passes nothing is guarded. --no-guards: never guard.
local KNOWN
local function opt(name)
  for i = 1, #args do if args[i] == name then return args[i + 1] end end
end
local function has(name)
  for i = 1, #args do if args[i] == name then return true end end
end
KNOWN = has("--no-guards")
local self_path = debug.getinfo(1, "S").source:sub(2)
local lua_bin = (function()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end)()

------------------------------------------------------------------ the program
-- the environment statements run in (replays use the same one)
local function make_env(tg)
  local env = {tg = tg, F = tg.nn.functional, AF = tg.autograd.functional, v = {}, math = math,
               pcall = pcall, error = error, setmetatable = setmetatable, type = type, select = select}
  env.hook_id = function(g) return g end
  env.hook_double = function(g) return g * 2 end
  env.hook_nil = function() return nil end
  env.hook_err = function() error("hook error") end
  env.hook_shape = function() return tg.zeros(3) end
  env.hook_dtype = function(g) return g:double() end
  env.hook_int = function(g) return g:long() end
  env.fn_sum = function(x) return (x * x):sum() end
  env.fn_id = function(x) return x end
  env.fn_bad = function() return 3 end
  env.callable = setmetatable({}, {__call = function(_, g) return g end})
  return env
end

local function setup(tg)
  tg.set_memory_limit(MEM_LIMIT)
  tg.set_num_threads(1)
  tg.manual_seed(0)
end

-- a statement still running Lua code (a metamethod, a hook) after
-- STMT_TIMEOUT is a hang: the process exits with a report the driver
-- minimises like a crash (a hang inside C is caught by the child's timeout)
local deadline
local function watchdog()
  if os.clock() > deadline then
    io.stderr:write("fuzz: HANG: a statement ran past ", STMT_TIMEOUT, " s\n")
    os.exit(3)
  end
end

local function run_stmt(src, env)
  local chunk = load(src, "=fuzz", "t", env)
  if not chunk then return false, "syntax" end
  deadline = os.clock() + STMT_TIMEOUT
  debug.sethook(watchdog, "", 100000)
  local ok, err = pcall(chunk)
  debug.sethook()
  return ok, err
end

------------------------------------------------------------------ generation
local rng
local function R(n) return rng(n) end -- 1..n
local function chance(p) return rng() < p end
local function pick(t) return t[R(#t)] end

local tg -- required in the child / replay

-- names of what is fuzzed
local SKIP = {
  set_memory_limit = true, set_num_threads = true, -- process settings: only with fixed values below
  gradcheck = true, gradgradcheck = true, -- O(numel^2) work: only in the structured path
  _test_allocator = true, _test_allocator_stats = true,
  data_ptr = true, cuda = true,
}
local function fn_names(t, prefix, out)
  for k, f in pairs(t) do
    if type(f) == "function" and type(k) == "string" and k:sub(1, 1) ~= "_" and not SKIP[k] then
      out[#out + 1] = prefix .. k
    end
  end
  table.sort(out)
  return out
end

local mod_fns, methods
local function catalog()
  mod_fns = fn_names(tg, "tg.", {})
  fn_names(tg.autograd, "tg.autograd.", mod_fns)
  fn_names(tg.nn.functional, "F.", mod_fns)
  for k, f in pairs(tg.autograd.functional) do
    if type(f) == "function" then mod_fns[#mod_fns + 1] = "AF." .. k end
  end
  table.sort(mod_fns)
  methods = {}
  for k, f in pairs(tg._Tensor) do
    if type(f) == "function" and k:sub(1, 1) ~= "_" and not SKIP[k] then methods[#methods + 1] = k end
  end
  methods[#methods + 1] = "register_hook"
  table.sort(methods)
end

local function slot() return ("v[%d]"):format(R(NSLOTS)) end

local SMALL = {"0", "1", "2", "3", "-1", "-2", "1", "2", "4", "5"}
local HUGE = {"2^62 // 1", "-(2^62 // 1)", "math.maxinteger", "math.mininteger", "2^31 // 1", "2^32 // 1",
              "-(2^31 // 1)", "2^40 // 1", "100000", "-100000", "2^20 // 1"}
local FLOATS = {"0.5", "-1.5", "0/0", "math.huge", "-math.huge", "1e308", "-0.0", "1e-310", "2.5", "1.0"}
local STRINGS = {'"sum"', '"mean"', '"none"', '"x"', '""', '"float64"', '"trunc"', '"floor"', '"cpu"', '"ij,jk->ik"',
                 '"i->"', '"ii"'}
local DTYPES = {"tg.float32", "tg.float64", "tg.int64", "tg.bool"}
-- capture: bodies for tg.capture statements (replayable ones and ones it must refuse)
local CAPTURE_BODIES = {
  "return (a * b):sum()",
  "local l = (a:relu() + b):mean(); if l.requires_grad then l:backward() end; return l",
  "a:add_(b); return a",
  "return a:exp() * b:sigmoid()",
  "return a:sum():item()",
  "return tostring(a)",
  "return tg.nonzero(a)",
  "a:register_hook(function(g) return g end); return (a * 2):sum()",
  "return tg.matmul(a, b), a:t()",
}

local HOOKS = {"hook_id", "hook_double", "hook_nil", "hook_err", "hook_shape", "hook_dtype", "hook_int", "callable",
               "fn_sum", "fn_id", "fn_bad"}

local function shape_list(maxd)
  local n = R(maxd + 1) - 1
  local s = {}
  for i = 1, n do s[i] = tostring(pick({0, 1, 1, 2, 2, 3, 3, 4, 5})) end
  return s
end

local function nested_literal(depth)
  if depth == 0 or chance(0.3) then return pick({"1", "2.5", "-3", "0/0", "true", "0"}) end
  local n = R(4) - 1
  local parts = {}
  local inner = chance(0.9) and depth - 1 or depth
  for i = 1, n do parts[i] = nested_literal(inner) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local gen_arg
local function opts_table()
  local fields = {}
  local keys = {"dim", "keepdim", "dtype", "requires_grad", "retain_graph", "create_graph", "inputs", "grad_outputs",
                "allow_unused", "reduction", "weight", "ignore_index", "label_smoothing", "unbiased", "correction",
                "rounding_mode", "alpha", "value", "min", "max", "beta", "p", "descending", "largest", "sorted",
                "device", "out", "bogus"}
  for _ = 1, R(3) do
    local k = pick(keys)
    fields[#fields + 1] = k .. " = " .. gen_arg(1)
  end
  return "{" .. table.concat(fields, ", ") .. "}"
end

function gen_arg(depth)
  local r = R(100)
  if r <= 40 then return slot()
  elseif r <= 55 then return pick(SMALL)
  elseif r <= 60 then return pick(HUGE)
  elseif r <= 65 then return pick(FLOATS)
  elseif r <= 68 then return "nil"
  elseif r <= 70 then return pick({"true", "false"})
  elseif r <= 73 then return pick(STRINGS)
  elseif r <= 76 then return pick(DTYPES)
  elseif r <= 82 then return "{" .. table.concat(shape_list(3), ", ") .. "}"
  elseif r <= 86 and depth > 0 then return opts_table()
  elseif r <= 89 then return nested_literal(3)
  elseif r <= 92 then return pick(HOOKS)
  elseif r <= 95 and depth > 0 then return "{" .. slot() .. ", " .. slot() .. "}"
  else return "{}" end
end

local function args_list(n)
  local a = {}
  for i = 1, n do a[i] = gen_arg(1) end
  return table.concat(a, ", ")
end

-- a fresh tensor expression: random shape (0-size dims, scalars), dtype
local function fresh_tensor()
  local s = shape_list(4)
  local dims = table.concat(s, ", ")
  local dt = pick({"tg.float32", "tg.float64", "tg.float64", "tg.int64", "tg.bool"})
  local rg = (dt == "tg.float32" or dt == "tg.float64") and chance(0.6) and ", requires_grad = true" or ""
  local maker = pick({"randn", "rand", "zeros", "ones"})
  if dt == "tg.int64" or dt == "tg.bool" then
    return ("tg.randint(0, 3, {%s}, {dtype = %s})"):format(dims, dt)
  end
  if #s == 0 then return ("tg.tensor(%s, {dtype = %s%s})"):format(pick({"1.5", "-2", "0"}), dt, rg) end
  return ("tg.%s({%s}, {dtype = %s%s})"):format(maker, dims, dt, rg)
end

-- a view of a slot (non-contiguous, expanded, narrowed ...)
local function view_expr(x)
  return pick({
    x .. ":t()", x .. ":transpose(1, -1)", x .. ":narrow(1, 1, 1)", x .. ":select(1, 1)",
    x .. ":unsqueeze(1):expand(2, table.unpack(" .. x .. ".shape))", x .. ":permute(" .. "2, 1)",
    x .. "[1]", x .. ":flip(1)", x .. ":view(-1)", x .. ":squeeze()", x .. ":unsqueeze(-1)",
    x .. ".T", x .. ":flatten()", x .. ":split(1)[1]",
    x .. ":chunk(2)[1]", x .. ":unbind(1)[1]",
  })
end

local BIN = {"+", "-", "*", "/", "^", "%", "//", "==", "<"}
local UN = {"exp", "log", "sigmoid", "tanh", "relu", "sqrt", "abs", "neg", "sin", "square", "softplus", "gelu", "silu",
            "erf", "rsqrt", "reciprocal", "sum", "mean", "softmax", "log_softmax", "cumsum", "logsumexp", "std",
            "norm", "clone", "contiguous", "max", "amax", "prod", "cumprod", "sort", "topk"}
-- act: the activations of ops/activation.c with their parameters and in-place forms
local ACT = {"F.elu(%s)", "F.elu(%s, 0.5, true)", "F.selu(%s)", "F.celu(%s, 0.7)", "F.celu(%s, {inplace = true})",
             "F.leaky_relu(%s, 0.2)", "F.leaky_relu(%s, -0.1, true)", "F.hardtanh(%s, -0.5, 0.5)",
             "F.hardtanh(%s, 1, -1)", "F.relu6(%s, true)", "F.hardswish(%s)", "F.hardsigmoid(%s, true)",
             "F.mish(%s)", "F.logsigmoid(%s)", "tg.selu_(%s)", "tg.celu(%s, 0)", "F.elu(%s, {alpha = 'x'})"}
local INPLACE = {"mul_(2)", "add_(1)", "exp_()", "sigmoid_()", "tanh_()", "zero_()", "fill_(3)", "clamp_(0, 1)",
                 "relu_()", "neg_()", "sub_(0.5)", "div_(2)", "copy_(%s)", "add_(%s)", "mul_(%s)",
                 "masked_fill_(%s, 1)", "pow_(2)", "detach_()", "requires_grad_()", "retain_grad()"}

-- one statement
local function statement()
  local r = R(100)
  local x, y = slot(), slot()
  if r <= 12 then
    return ("%s = %s"):format(x, fresh_tensor())
  elseif r <= 20 then
    return ("%s = %s"):format(x, view_expr(y))
  elseif r <= 30 then
    return ("%s = %s %s %s"):format(x, y, pick(BIN), pick({slot(), pick(SMALL), pick(FLOATS)}))
  elseif r <= 40 then
    if chance(0.25) then -- act: the core activations, in place too
      return ("%s = %s"):format(x, pick(ACT):format(y))
    end
    local d = chance(0.4) and pick({"1", "-1", "2", "{dim = 1, keepdim = true}"}) or ""
    return ("%s = %s:%s(%s)"):format(x, y, pick(UN), d)
  elseif r <= 47 then
    local ip = pick(INPLACE)
    if ip:find("%%s") then ip = ip:format(slot()) end
    return ("%s:%s"):format(y, ip)
  elseif r <= 50 then -- in place through a view
    local ip = pick(INPLACE)
    if ip:find("%%s") then ip = ip:format(slot()) end
    return ("%s:%s"):format(view_expr(y), ip)
  elseif r <= 55 then
    local o = pick({"", "nil, {retain_graph = true}", "nil, {create_graph = true}", slot(),
                    "nil, {inputs = {" .. slot() .. "}}", "nil, {inputs = {nil, " .. slot() .. "}}",
                    slot() .. ", {retain_graph = true}"})
    local target = chance(0.7) and y .. ":sum()" or y
    return ("%s:backward(%s)"):format(target, o)
  elseif r <= 58 then
    return ("%s = tg.autograd.grad({%s:sum()}, {%s}, {%s})"):format(x, y, slot(),
      pick({"retain_graph = true", "create_graph = true", "allow_unused = true", "grad_outputs = {" .. slot() .. "}",
            ""}))
  elseif r <= 61 then
    return ("%s:register_hook(%s)"):format(y, pick(HOOKS))
  elseif r <= 63 then
    return ("%s.grad_fn:%s(%s)"):format(y, pick({"register_hook", "register_prehook"}), pick(HOOKS))
  elseif r <= 67 then
    local field = pick({"grad", "data", "requires_grad", "grad", "data"})
    local val = field == "requires_grad" and pick({"true", "false", "nil"}) or pick({slot(), "nil", fresh_tensor(), "3"})
    return ("%s.%s = %s"):format(y, field, val)
  elseif r <= 69 then
    return ("%s[%s] = %s"):format(y, pick({"1", "-1", "{1, 2}", "0", "100", "{{1, 2}}", "math.maxinteger"}),
      pick({slot(), "1.5", "0/0", "true"}))
  elseif r <= 70 then -- a deep graph
    return ("for _ = 1, %d do %s = %s * 1.0001 + 0 end"):format(pick({100, 1000, 3000}), y, y)
  elseif r <= 71 then
    return ("tg.set_num_threads(%s)"):format(pick({"1", "2", "3", "0", "-1", "100000", "2^32 // 1", "1.5", "nil"}))
  elseif r <= 72 then
    return pick({"collectgarbage()", "collectgarbage('step')", slot() .. " = nil", y .. ":free()",
      -- mem: out= into a slot (aliasing an input, wrong shapes and dtypes included) and scopes
      ("tg.%s(%s, %s, {out = %s})"):format(pick({"add", "mul", "sub", "div", "matmul", "mm", "maximum"}), y, slot(), x),
      ("tg.%s(%s, {out = %s})"):format(pick({"exp", "neg", "sigmoid", "relu", "sum", "mean", "cumsum"}), y, x),
      ("tg.sum(%s, %s, {out = %s, keepdim = %s})"):format(y, pick(SMALL), x, pick({"true", "false"})),
      ("do local s <close> = tg.scope(); %s = %s + 1; if %s then s:keep(%s) end end"):format(x, y, pick({"true", "false"}), x),
      ("%s = tg.scope(function() local t = %s * 2; return t, %s end)"):format(x, y, slot()),
      ("tg.scope(function() %s:sum():backward() end)"):format(y),
      -- capture: a step captured from a random body (some refused), then replayed on other slots
      ("CAP = tg.capture(function(a, b) %s end, %s, %s)"):format(pick(CAPTURE_BODIES), y, slot()),
      ("if CAP then %s = CAP(%s, %s) end"):format(x, y, slot())})
  elseif r <= 74 then
    return ("%s = tg.tensor(%s%s)"):format(x, nested_literal(4), chance(0.3) and ", {dtype = " .. pick(DTYPES) .. "}" or "")
  elseif r <= 75 then -- a table claiming a length (huge ones: KNOWN bugs, see below)
    local len = pick(HUGE)
    return ("%s = tg.tensor(setmetatable({}, {__len = function() return %s end, __index = function() return %s end}))")
      :format(x, len, pick({"1", "{}", "setmetatable({}, {__len = function() return 2 end})"}))
  elseif r <= 77 then
    local f = pick({"gradcheck", "gradgradcheck"})
    return ("tg.autograd.%s(%s, {tg.randn(%d, {dtype = tg.float64, requires_grad = true})})"):format(f,
      pick({"fn_sum", "fn_id", "tg.sigmoid", "tg.exp", "fn_bad"}), R(3))
  elseif r <= 79 then -- a custom Function with random forward/backward
    return ([[do local Fn = tg.autograd.Function{forward = function(ctx, a) ctx:save_for_backward(a) return a * 2 end,
      backward = function(ctx, g) %s end}; %s = Fn(%s) end]]):format(
      pick({"return g * 2", "return nil", "return g, g", "return 3", "error('bw')", "return tg.zeros(7)",
            "local a = ctx.saved_tensors[1]; return g * a"}), x, y)
  elseif r <= 88 then -- any module function, random arguments
    return ("%s = %s(%s)"):format(x, pick(mod_fns), args_list(R(4) - 1))
  else -- any method, random arguments
    return ("%s = %s:%s(%s)"):format(x, y, pick(methods), args_list(R(4) - 1))
  end
end

local raw_is_tensor, raw_numel -- the unguarded functions (set by install_guards)

-- statements that keep the slots small: a big or deep result is dropped
local function trim(env)
  for i = 1, NSLOTS do
    local t = env.v[i]
    if raw_is_tensor(t) then
      local ok, n = pcall(raw_numel, t)
      if ok and n > MAX_NUMEL then return ("v[%d] = nil"):format(i) end
    end
  end
end


------------------------------------------------------------------ guards
-- each probe: a program that crashes (signal, sanitizer report) or hangs
-- while its bug class is present
local PROBES = {
  {"empty", [[local tg = require "tgrad"; local F = tg.nn.functional
    tg.zeros(3, 0):sum(1); tg.mm(tg.zeros(0, 0), tg.zeros(0, 3))
    local e = tg.zeros(0, 1, {requires_grad = true}); e:expand(0, 3):sum():backward()
    pcall(F.cross_entropy, tg.zeros(2, 0), tg.tensor({1, 1}))]]},
  {"nil_inputs", [[local tg = require "tgrad"; local w = tg.ones(2, {requires_grad = true})
    pcall(function() (w * 2):sum():backward(nil, {inputs = {nil, w}}) end)]]},
  {"huge_len", [[local tg = require "tgrad"; tg.set_memory_limit(1 << 28)
    for _, n in ipairs({math.maxinteger, 2^62 // 1, 2^32 // 1}) do
      pcall(tg.tensor, setmetatable({}, {__len = function() return n end, __index = function() return
        setmetatable({}, {__len = function() return n end, __index = function() return 1 end}) end}))
      pcall(tg.tensor, setmetatable({}, {__len = function() return n end, __index = function() return {} end}))
    end]]},
  {"huge_size", [[local tg = require "tgrad"; tg.set_memory_limit(1 << 28); local z = tg.zeros(0)
    local H = math.maxinteger
    for _, f in ipairs({function() return tg.eye(H, H) end, function() return tg.zeros(0, H, H) end,
      function() return z:view(H, 0, H) end, function() return z:narrow(1, H, H) end,
      function() return tg.cat({z, z}, H) end, function() return tg.zeros(0, 3):repeat_(H, H) end,
      function() return tg.zeros(0, 3):roll(H, 1) end, function() return tg.randint(-H, H, {2}) end,
      function() return tg.zeros(0, 2):chunk(2^40 // 1, 1) end}) do pcall(f) end]]},
  {"root_grad", [[local tg = require "tgrad"; local x = tg.randn(16, {requires_grad = true})
    local y = x:softmax(1); pcall(y.backward, y, tg.randn(3))
    local a = tg.randn(4, 4, {requires_grad = true}); local m = a:mm(a)
    pcall(m.backward, m, tg.ones(4, 4, {dtype = tg.float64})); pcall(m.backward, m, tg.ones(4, 4, {dtype = tg.int64}))
    local h = tg.randn(8, {requires_grad = true}); local s = h:exp(); s:register_hook(function() return tg.zeros(2) end)
    pcall(function() s:sum():backward() end)
    local q = tg.randn(8, {requires_grad = true}); local r = q:exp(); r:register_hook(function(g) return g:double() end)
    pcall(function() r:sum():backward() end)
    local d = tg.randn(16, {requires_grad = true}); local o = d:softmax(1); o.data = tg.randn(3); pcall(o.backward, o, tg.ones(16))]]},
  {"uaf_retain", [[local tg = require "tgrad"; local x = tg.randn(3, {requires_grad = true})
    local y = x * 2; y:retain_grad(); local z = y * 3; pcall(y.detach_, y); y = nil; collectgarbage(); collectgarbage()
    z:sum():backward()
    local a = tg.randn(3, {requires_grad = true}); local b = a * 2; b:retain_grad(); local c = b * 3
    b:mul_(2); b = nil; collectgarbage(); collectgarbage(); c:sum():backward()]]},
}

local G = {} -- the guarded classes

local function probe_all(run, lua, cpath_env)
  local names = {}
  for _, p in ipairs(PROBES) do
    local f = os.tmpname()
    local h = assert(io.open(f, "w"))
    h:write("pcall(function()\n", p[2], "\nend)\nos.exit(0)\n") -- a Lua error is no crash
    h:close()
    local ok = run(("timeout 10 %s %s"):format(lua, f))
    os.remove(f)
    if not ok then names[#names + 1] = p[1] end
  end
  return table.concat(names, ",")
end

local function is_t(x) return raw_is_tensor(x) end
local function numel0(x)
  local ok, n = pcall(raw_numel, x)
  return ok and n == 0
end
local function big_int(x) return math.type(x) == "integer" and (x >= 2^31 or x <= -2^31) end

local function scan(fnname, ...)
  local n = select("#", ...)
  for i = 1, n do
    local a = select(i, ...)
    if is_t(a) then
      if G.empty and numel0(a) then return "empty" end
    elseif G.huge_size and big_int(a) then return "huge_size"
    elseif type(a) == "table" and not is_t(a) then
      if G.huge_len and getmetatable(a) and fnname == "tensor" then return "huge_len" end
      for _, e in pairs(a) do
        if is_t(e) and G.empty and numel0(e) then return "empty" end
        if G.huge_size and big_int(e) then return "huge_size" end
        if type(e) == "table" and not is_t(e) then
          for _, e2 in pairs(e) do
            if is_t(e2) and G.empty and numel0(e2) then return "empty" end
          end
        end
      end
    end
  end
  if G.nil_inputs and (fnname == "backward" or fnname == "grad") then
    for i = 1, n do
      local a = select(i, ...)
      if type(a) == "table" and not is_t(a) and type(a.inputs) == "table" then
        local cnt, maxk = 0, 0
        for k in pairs(a.inputs) do cnt = cnt + 1; if math.type(k) == "integer" and k > maxk then maxk = k end end
        if cnt ~= maxk or a.inputs[1] == nil then return "nil_inputs" end
      end
    end
  end
  if G.root_grad and (fnname == "backward" or fnname == "grad") then
    local self, g = ...
    if fnname == "backward" and is_t(g) then
      local ok, same = pcall(function() return g.dtype == self.dtype and raw_numel(g) == raw_numel(self) end)
      if not (ok and same) then return "root_grad" end
    end
    for i = 1, n do
      local a = select(i, ...)
      if type(a) == "table" and not is_t(a) and a.grad_outputs ~= nil then return "root_grad" end
    end
    if fnname == "grad" and n >= 3 and select(3, ...) ~= nil and type(select(3, ...)) ~= "table" then return "root_grad" end
    if fnname == "grad" and n >= 3 and type(select(3, ...)) == "table" and select(3, ...)[1] ~= nil then return "root_grad" end
  end
  if G.uaf_retain and (fnname == "detach_" or fnname:sub(-1) == "_" or fnname == "copy_") then
    local self = ...
    if is_t(self) then
      local ok, r = pcall(function() return self.retains_grad end)
      if ok and r then return "uaf_retain" end
    end
  end
end

local function guard_hook(h)
  if not G.root_grad or type(h) ~= "function" and not (type(h) == "table" and getmetatable(h)) then return h end
  return function(...)
    local g = select(1, ...)
    local r = h(...)
    if is_t(r) and is_t(g) and not (r.dtype == g.dtype and raw_numel(r) == raw_numel(g)) then return g end
    if type(r) == "table" and not is_t(r) then return nil end
    return r
  end
end

-- wrap the functions of t (named fields) with the guards
local function guard_table(t)
  for k, f in pairs(t) do
    if type(f) == "function" and type(k) == "string" then
      t[k] = function(...)
        local why = scan(k, ...)
        if why then error("fuzz guard: " .. why .. " (a known bug class)", 2) end
        if k == "register_hook" or k == "register_prehook" then
          local a, b = ...
          return f(a, guard_hook(b))
        end
        return f(...)
      end
    end
  end
end

local function install_guards(guards)
  for name in guards:gmatch("[%w_]+") do G[name] = true end
  raw_is_tensor, raw_numel = tg.is_tensor, tg._Tensor.numel
  if not next(G) then return end
  guard_table(tg); guard_table(tg._Tensor); guard_table(tg.autograd); guard_table(tg.nn.functional)
  guard_table(tg.autograd.functional)
  local mt = tg._Tensor_mt
  for _, mm in ipairs({"__add", "__sub", "__mul", "__div", "__pow", "__mod", "__idiv", "__unm", "__eq", "__lt", "__le"}) do
    local f = mt[mm]
    if f then
      mt[mm] = function(a, b)
        local why = scan(mm, a, b)
        if why then error("fuzz guard: " .. why .. " (a known bug class)", 2) end
        return f(a, b)
      end
    end
  end
  local newindex = mt.__newindex
  mt.__newindex = function(t, k, v)
    if G.root_grad and k == "data" and is_t(v) then
      local ok, same = pcall(function() return v.dtype == t.dtype and raw_numel(v) == raw_numel(t) end)
      if not (ok and same) then error("fuzz guard: root_grad (a known bug class)", 2) end
    end
    local why = scan("__newindex", t, v)
    if why then error("fuzz guard: " .. why .. " (a known bug class)", 2) end
    return newindex(t, k, v)
  end
  local index = mt.__index
  if type(index) == "function" then
    mt.__index = function(t, k)
      if type(k) ~= "string" then
        local why = scan("__index", t, k)
        if why then error("fuzz guard: " .. why .. " (a known bug class)", 2) end
      end
      return index(t, k)
    end
  end
  -- grad_fn nodes: their hooks
  local ok, node = pcall(function() return (tg.ones(1, {requires_grad = true}) * 2).grad_fn end)
  local nmt = ok and node and getmetatable(node)
  if nmt and type(nmt.__index) == "table" then guard_table(nmt.__index) end
end

------------------------------------------------------------------ child
local function child(seed, calls, log_path)
  tg = require "tgrad"
  setup(tg)
  catalog()
  install_guards(os.getenv("FUZZ_GUARDS") or "")
  local state = seed * 2654435761 % 2^31 + 1
  rng = function(n) -- an LCG of our own: math.random's sequence must not depend on what the statements call
    state = (state * 1103515245 + 12345) % 2147483648
    local u = state / 2147483648
    if n then return math.floor(u * n) + 1 end
    return u
  end
  local env = make_env(tg)
  local log = log_path and assert(io.open(log_path, "w"))
  local errors = 0
  for i = 1, calls do
    local src = trim(env) or statement()
    if log then log:write(src:gsub("\n", " "), "\n"); log:flush() end
    local c0 = os.clock()
    local ok = run_stmt(src, env)
    if not ok then errors = errors + 1 end
    if os.getenv("FUZZ_SLOW") and os.clock() - c0 > tonumber(os.getenv("FUZZ_SLOW")) then io.stderr:write(("slow (%.1f s): %s\n"):format(os.clock() - c0, src)) end
    if i % 5000 == 0 then tg.set_grad_enabled(true) end
  end
  if log then log:close() end
  io.write(("seed %d: %d calls, %d Lua errors (caught)\n"):format(seed, calls, errors))
end

local function replay(path)
  tg = require "tgrad"
  setup(tg)
  install_guards(os.getenv("FUZZ_GUARDS") or "")
  local env = make_env(tg)
  for line in io.lines(path) do
    if line ~= "" and line:sub(1, 2) ~= "--" then run_stmt(line, env) end
  end
  io.write("replay finished\n")
end

------------------------------------------------------------------ driver
local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- run a command; returns true when it exited 0, and its output
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and code == 0, out
end

local CRASH_ENV = ""
local function crash_kind(out)
  return out:match("(HANG)") or out:match("ERROR: AddressSanitizer: ([%w%-]+)") or out:match("runtime error: ([^\n]+)")
      or out:match("(LeakSanitizer)") or out:match("(Segmentation fault)") or (out:find("Killed") and "killed")
      or "process died"
end

local function crashes(lines, kind)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local ok, out = run(CRASH_ENV .. ("timeout %d %s %s --replay %s"):format(CHILD_TIMEOUT, lua_bin, sh_quote(self_path), path))
  os.remove(path)
  return not ok and (not kind or crash_kind(out) == kind)
end

-- delta debugging over statements: the smallest list that still crashes the same way
local function minimise(lines, kind)
  -- most findings need only the last few statements: try growing suffixes first
  local k = 1
  while k < #lines do
    local suffix = table.move(lines, #lines - k + 1, #lines, 1, {})
    if crashes(suffix, kind) then lines = suffix; break end
    k = k * 4
  end
  local budget = 200
  local n = 2
  while #lines >= 2 and budget > 0 do
    local chunk = math.ceil(#lines / n)
    local reduced = false
    for start = 1, #lines, chunk do
      if budget <= 0 then break end
      local rest = {}
      for i = 1, #lines do if i < start or i >= start + chunk then rest[#rest + 1] = lines[i] end end
      budget = budget - 1
      if #rest > 0 and crashes(rest, kind) then
        lines, reduced = rest, true
        n = math.max(n - 1, 2)
        break
      end
    end
    if not reduced then
      if chunk == 1 then break end
      n = math.min(n * 2, #lines)
    end
  end
  return lines
end

local function driver(first_seed, total, per_seed)
  local done, seed, crashes_found = 0, first_seed, 0
  local t0 = os.time()
  local outdir = os.getenv("FUZZ_OUT") or "build-asan/fuzz"
  os.execute("mkdir -p " .. sh_quote(outdir))
  local guards = KNOWN and "" or probe_all(run, lua_bin)
  io.write(("fuzz: guarded known bug classes: %s\n"):format(guards == "" and "none" or guards))
  io.flush()
  local genv = "FUZZ_GUARDS=" .. sh_quote(guards) .. " "
  CRASH_ENV = genv
  while done < total do
    local n = math.min(per_seed, total - done)
    local log_path = ("%s/seed-%d.log"):format(outdir, seed)
    local ok, out = run(genv .. ("timeout %d %s %s --child %d %d %s"):format(CHILD_TIMEOUT, lua_bin, sh_quote(self_path), seed,
      n, sh_quote(log_path)))
    if ok then
      io.write(out)
      os.remove(log_path)
    else
      crashes_found = crashes_found + 1
      local kind = crash_kind(out)
      io.write(("seed %d: CRASH (%s)\n%s\n"):format(seed, kind, out:sub(-3000)))
      local lines = {}
      for l in io.lines(log_path) do lines[#lines + 1] = l end
      local min = minimise(lines, kind)
      local min_path = ("%s/seed-%d.min.lua"):format(outdir, seed)
      local f = assert(io.open(min_path, "w"))
      f:write(("-- tools/fuzz.lua seed %d: %s; replay: FUZZ_GUARDS=%s lua5.4 tools/fuzz.lua --replay %s\n"):format(seed,
        kind, guards, min_path))
      f:write(table.concat(min, "\n"), "\n")
      f:close()
      io.write(("minimised to %d statements (%s):\n  %s\n"):format(#min, min_path, table.concat(min, "\n  ")))
    end
    io.flush()
    done = done + n
    seed = seed + 1
  end
  io.write(("fuzz: %d calls over %d seeds (%d..%d) in %d s: %d crashes (guarded: %s)\n"):format(done,
    seed - first_seed, first_seed, seed - 1, os.time() - t0, crashes_found, guards == "" and "none" or guards))
  os.exit(crashes_found == 0 and 0 or 1)
end

if has("--child") then
  local i
  for k = 1, #args do if args[k] == "--child" then i = k end end
  child(tonumber(args[i + 1]), tonumber(args[i + 2]), args[i + 3])
elseif has("--replay") then
  replay(opt("--replay"))
else
  local seed = tonumber(opt("--seed") or opt("--seeds") or 1)
  local total = tonumber(opt("--calls") or opt("--total") or 100000)
  local per = tonumber(opt("--per-seed") or 20000)
  driver(seed, total, per)
end
