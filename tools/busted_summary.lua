-- busted_summary.lua: turn busted's summary into the plain line "N passed, N failed".
-- usage: busted ... | tee log; lua5.4 tools/busted_summary.lua log
local f = assert(io.open(arg[1], "rb"))
local text = f:read("a")
f:close()
text = text:gsub("\27%[[%d;]*m", "") -- strip colours
local ok, fail, err
for s, fl, e in text:gmatch("(%d+) successe?s? / (%d+) failures? / (%d+) errors?") do ok, fail, err = s, fl, e end
if not ok then
  print("0 passed, 1 failed (no busted summary found)")
  os.exit(1)
end
local failed = tonumber(fail) + tonumber(err)
print(("%d passed, %d failed"):format(tonumber(ok), failed))
os.exit(failed == 0 and 0 or 1)
