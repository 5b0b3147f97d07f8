-- gc_host.lua: what tgrad costs the host's garbage collector.
-- A host holds a large heap of plain Lua tables (400 MB by default), keeps a
-- 48 MB model of tensors, then runs 400 tensor ops (512 x 512,
-- 2 MB allocated per op). Reports the time, the number of completed collection
-- cycles (a finalizer sentinel re-armed on every cycle), and the same with the
-- collector stopped by the host (collectgarbage("stop")): then tgrad must run
-- no collection at all.
--   lua5.4 bench/gc_host.lua [heap_mb] [ops]
local tg = require "tgrad"
tg.set_num_threads(1) -- os.clock counts CPU time: no spinning BLAS threads
local heap_mb = tonumber(arg and arg[1]) or 400
local n_ops = tonumber(arg and arg[2]) or 400
if os.getenv("GC_SCALE") then require("tgrad").set_gc_policy({scale = tonumber(os.getenv("GC_SCALE"))}) end

local cycles = 0
local function arm()
  setmetatable({}, {__gc = function() cycles = cycles + 1; arm() end})
end

-- about heap_mb MB of small tables
local heap = {}
local function build_heap()
  local target = heap_mb * 1024 * 1024
  local i = 0
  while collectgarbage("count") * 1024 < target do
    i = i + 1
    heap[i] = {i, i + 1, i + 2, tostring(i)}
  end
end

-- the host's model: 48 MB of live tensors
local model = {}
for i = 1, 12 do model[i] = tg.zeros(1024, 1024) end

local function run(label)
  local x = tg.randn(512, 512)
  cycles = 0
  arm()
  local t0 = os.clock()
  for _ = 1, n_ops do
    x = (x * 0.5):tanh()
  end
  local dt = os.clock() - t0
  print(string.format("%-28s %4d ops  %8.3f s  %3d collection cycles  (Lua heap %.0f MB)",
    label, n_ops, dt, cycles, collectgarbage("count") / 1024))
  return dt, cycles
end

build_heap()
collectgarbage("collect")
collectgarbage("collect")
run("default collector")
collectgarbage("stop")
run("collectgarbage('stop')")
collectgarbage("restart")
heap = nil
