-- serialize_spec.lua: tg.save / tg.load in the safetensors format (issue 8).
-- Files written by Python's safetensors (spec/fixtures/safetensors/, from
-- tools/gen_safetensors_fixtures.py) load with exact values, and tgrad writes
-- the same bytes for the same tensors; round trips of views, 0-d, empty,
-- nested tables and metadata; truncated, corrupt and hostile files are clear
-- Lua errors (each truncation and each flipped header byte of a real file too).
local tg = require "tgrad"
local errors = require("support.helpers").errors

local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "spec/"
local FIX = dir .. "fixtures/safetensors/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local tmp = os.tmpname()
-- the many small files of the fuzz loops go to memory where there is a /dev/shm
local scratch = tmp
do
  local shm = "/dev/shm/tgrad_serialize_spec_" .. tmp:gsub("[^%w]", "_")
  local f = io.open(shm, "wb")
  if f then
    f:close()
    scratch = shm
  end
end
teardown(function()
  os.remove(tmp)
  os.remove(scratch)
end)

local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end

-- keep in sync with mixed() in tools/gen_safetensors_fixtures.py
local function mixed_tensors()
  return {
    fc = {weight = tg.tensor({{0.5, -1.25, 3.0}, {1e-3, -0.0, 65504.0}}),
          bias = tg.tensor({0.1, -2.5})},
    scale = tg.tensor(1.5),
    empty = tg.zeros(0, 3),
    double = tg.tensor({0.1, -1e300, 2.0 ^ -1074}, {dtype = tg.float64}),
    steps = tg.tensor({{1, -2}, {1 << 62, math.mininteger}}),
    mask = tg.tensor({true, false, false, true, true}),
    layers = {[1] = {w = tg.tensor({{1.0, 2.0}}, {dtype = tg.float64})}},
    ["ünï \"q\"\n"] = tg.tensor({7}),
  }
end

local function same(a, b, what)
  assert.are.equal(a.dtype, b.dtype, what .. ": dtype")
  assert.are.same(a.shape, b.shape, what .. ": shape")
  local x, y = a:reshape(-1):tolist(), b:reshape(-1):tolist()
  for i = 1, #x do
    assert(x[i] == y[i] and math.type(x[i]) == math.type(y[i]) and (x[i] ~= 0 or 1 / x[i] == 1 / y[i]),
      ("%s[%d]: %s vs %s"):format(what, i, tostring(x[i]), tostring(y[i])))
  end
end

describe("tg.load of files written by Python's safetensors", function()
  it("loads every dtype tgrad has with exact values, dotted names and metadata", function()
    local t, meta = tg.load(FIX .. "mixed.safetensors")
    assert.are.same({format = "pt"}, meta)
    local names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
    assert.are.same({"double", "empty", "fc.bias", "fc.weight", "layers.1.w", "mask", "scale", "steps", "ünï \"q\"\n"}, names)
    assert.are.same({{0.5, -1.25, 3.0}, {f32(1e-3), -0.0, 65504.0}}, t["fc.weight"]:tolist())
    assert.are.equal(tg.float32, t["fc.weight"].dtype)
    assert.are.same({f32(0.1), -2.5}, t["fc.bias"]:tolist())
    assert.are.same({}, t.scale.shape)
    assert.are.equal(1.5, t.scale:item())
    assert.are.same({0, 3}, t.empty.shape)
    assert.are.same({0.1, -1e300, 2.0 ^ -1074}, t.double:tolist())
    assert.are.equal(tg.float64, t.double.dtype)
    assert.are.same({{1, -2}, {1 << 62, math.mininteger}}, t.steps:tolist())
    assert.are.equal(tg.int64, t.steps.dtype)
    assert.are.same({true, false, false, true, true}, t.mask:tolist())
    assert.are.same({{1.0, 2.0}}, t["layers.1.w"]:tolist())
    assert.are.same({7}, t["ünï \"q\"\n"]:tolist())
    assert.are.equal(-math.huge, 1 / t["fc.weight"]:tolist()[2][2]) -- -0.0 kept
  end)

  it("gives back a tensor for a file of one '__tensor__'", function()
    local t, meta = tg.load(FIX .. "single.safetensors")
    assert.is_true(tg.is_tensor(t))
    assert.is_nil(meta)
    assert.are.same({{0, 0.25, 0.5}, {0.75, 1, 1.25}}, t:tolist())
  end)

  it("widens F16, BF16 to float32 and I8..I32, U8..U32 to int64, exactly", function()
    local t = tg.load(FIX .. "widen.safetensors")
    assert.are.equal(tg.float32, t.f16.dtype)
    assert.are.same({1.0, -2.5, 65504.0, 2 ^ -14, 2 ^ -24, math.huge}, t.f16:tolist())
    assert.are.same({1.0, -2.5, 3.140625, 1.0002555517425873e+30}, t.bf16:tolist())
    assert.are.equal(tg.int64, t.i32.dtype)
    assert.are.same({-2147483648, 2147483647, 0}, t.i32:tolist())
    assert.are.same({-32768, 32767}, t.i16:tolist())
    assert.are.same({-128, 127}, t.i8:tolist())
    assert.are.same({0, 255}, t.u8:tolist())
    assert.are.same({65535}, t.u16:tolist())
    assert.are.same({4294967295}, t.u32:tolist())
  end)

  it("refuses a dtype it cannot represent, naming it", function()
    errors("tensor 'big' has dtype U64, which tgrad cannot represent", tg.load, FIX .. "u64.safetensors")
  end)

  it("nests dotted names with {nested = true} (all-digit parts as integer keys)", function()
    local t = tg.load(FIX .. "mixed.safetensors", {nested = true})
    assert.are.same({0.5, -1.25, 3.0}, t.fc.weight[1]:tolist())
    assert.are.same({f32(0.1), -2.5}, t.fc.bias:tolist())
    assert.are.same({{1.0, 2.0}}, t.layers[1].w:tolist())
    assert.is_true(tg.is_tensor(t.scale))
  end)
end)

describe("tg.save", function()
  it("writes the bytes Python's safetensors writes for the same tensors", function()
    tg.save(tmp, mixed_tensors(), {format = "pt"})
    assert.are.equal(read(FIX .. "mixed.safetensors"), read(tmp))
  end)

  it("writes one tensor under '__tensor__' as Python does", function()
    tg.save(tmp, tg.arange(0.0, 6.0):reshape(2, 3) / 4)
    assert.are.equal(read(FIX .. "single.safetensors"), read(tmp))
  end)

  it("escapes names and metadata as serde_json does (control characters, quotes, backslashes, UTF-8)", function()
    local t, meta = tg.load(FIX .. "escapes.safetensors")
    local name = "a\1\127\b\31/\\é\t\""
    assert.are.same({1}, t[name]:tolist())
    assert.are.same({["k\t"] = "v\"\n\2"}, meta)
    tg.save(tmp, {[name] = tg.ones(1)}, {["k\t"] = "v\"\n\2"})
    assert.are.equal(read(FIX .. "escapes.safetensors"), read(tmp))
  end)

  it("writes what it loads back byte for byte (flat table in, same file out)", function()
    local t, meta = tg.load(FIX .. "mixed.safetensors")
    tg.save(tmp, t, meta)
    assert.are.equal(read(FIX .. "mixed.safetensors"), read(tmp))
  end)

  it("pads the header with spaces to 8 bytes and sorts entries as safetensors does", function()
    local header = tg._safetensors_header({b = tg.zeros(1, {dtype = tg.bool}), a = tg.ones(1), c = tg.ones(1, {dtype = tg.int64}),
                                           d = tg.ones(1, {dtype = tg.float64}), aa = tg.ones(2)})
    assert.are.equal(0, #header % 8)
    assert.are.equal('{"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},'
      .. '"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},'
      .. '"a":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},'
      .. '"aa":{"dtype":"F32","shape":[2],"data_offsets":[20,28]},'
      .. '"b":{"dtype":"BOOL","shape":[1],"data_offsets":[28,29]}}', (header:gsub(" +$", "")))
    assert.is_truthy(header:match("^[^ ]+ *$"))
  end)

  it("writes views (transposed, narrowed, expanded, strided) as their values", function()
    local base = tg.arange(0.0, 12.0):reshape(3, 4)
    local v = {t = base:t(), n = base:narrow(2, 2, 2), e = tg.tensor({1.0, 2.0}):view(2, 1):expand(2, 3),
               s = base[{{}, 2}], sel = base[2]}
    tg.save(tmp, v)
    local back = tg.load(tmp)
    for k, t in pairs(v) do
      same(back[k], t:contiguous(), k)
      assert.is_true(back[k]:is_contiguous())
    end
  end)

  it("round-trips 0-d, empty, bool, int64 extremes, float64 and nested tables", function()
    local v = {zero_d = tg.tensor(3.25, {dtype = tg.float64}), empty = tg.zeros(2, 0, 3, {dtype = tg.int64}),
               flags = tg.tensor({{true, false}, {false, true}}),
               ints = tg.tensor({math.maxinteger, math.mininteger, 0}),
               deep = {a = {b = {c = tg.randn(2, 3)}}}, ["0"] = tg.ones(1)}
    tg.save(tmp, v, {note = "hi \"there\"\n\1", ["ü"] = "ß"})
    local back, meta = tg.load(tmp)
    assert.are.same({note = "hi \"there\"\n\1", ["ü"] = "ß"}, meta)
    same(back.zero_d, v.zero_d, "zero_d")
    same(back.empty, v.empty, "empty")
    same(back.flags, v.flags, "flags")
    same(back.ints, v.ints, "ints")
    same(back["deep.a.b.c"], v.deep.a.b.c, "deep")
    local nested = tg.load(tmp, {nested = true})
    same(nested.deep.a.b.c, v.deep.a.b.c, "nested deep")
    same(nested[0], v["0"], "integer key")
  end)

  it("saves a module's state_dict (anything with :state_dict())", function()
    local w, b = tg.randn(3, 2), tg.randn(3)
    local module = {state_dict = function() return {["fc.weight"] = w, ["fc.bias"] = b} end}
    tg.save(tmp, module)
    local back = tg.load(tmp)
    same(back["fc.weight"], w, "weight")
    same(back["fc.bias"], b, "bias")
  end)

  it("saves a tensor that requires grad (its values) and a tensor's gradient", function()
    local w = tg.randn(2, 2, {requires_grad = true})
    ;(w * w):sum():backward()
    tg.save(tmp, {w = w, g = w.grad})
    local back = tg.load(tmp)
    same(back.w, w:detach(), "w")
    same(back.g, w.grad, "g")
    assert.is_false(back.w.requires_grad)
  end)

  it("refuses what safetensors cannot hold, with clear messages", function()
    errors("expected a tensor or a table of tensors, got number", tg.save, tmp, 3)
    errors("'a.b' is a string, expected a tensor", tg.save, tmp, {a = {b = "x"}})
    errors("two tensors have the name 'a.b'", tg.save, tmp, {a = {b = tg.ones(1)}, ["a.b"] = tg.ones(1)})
    errors("'__metadata__' is reserved", tg.save, tmp, {__metadata__ = tg.ones(1)})
    errors("metadata maps strings to strings", tg.save, tmp, {a = tg.ones(1)}, {n = 3})
    errors("path must be a string", tg.save, nil, tg.ones(1))
    local cyc = {a = tg.ones(1)}
    cyc.self = cyc
    errors("the table holds itself", tg.save, tmp, cyc)
    errors("cannot open", tg.save, "/nonexistent-dir/x.safetensors", tg.ones(1))
  end)

  it("names the caller's line in its errors", function()
    local ok, err = pcall(function() tg.save(tmp, 3) end)
    assert.is_false(ok)
    assert.is_truthy(err:find("serialize_spec.lua:%d+: tgrad.save"))
  end)
end)

describe("tg.load of truncated, corrupt or hostile files", function()
  -- a file from a header string and data bytes (the length prefix as given, or right)
  local function file(header, data, len)
    write(tmp, string.pack("<I8", len or #header) .. header .. (data or ""))
    return tmp
  end
  local function entry(name, dtype, shape, b, e)
    return ('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%s,%s]}'):format(name, dtype, shape, b, e)
  end

  it("rejects short files and header lengths past the end or past 100 MB", function()
    write(tmp, "")
    errors("not a safetensors file: 0 bytes", tg.load, tmp)
    write(tmp, "\1\2\3")
    errors("not a safetensors file: 3 bytes", tg.load, tmp)
    errors("header length 1000 goes past the end of the file (16 bytes)", tg.load, file("{}      ", "", 1000) and tmp)
    errors("larger than safetensors' limit of 100000000 bytes", tg.load, file("{}", "", 100000001))
    errors("larger than safetensors' limit", tg.load, file("{}", "", -1)) -- 2^64 - 1 as u64
    errors("header of 0 bytes is too small", tg.load, file("", ""))
  end)

  it("rejects a header that is not a strict JSON object", function()
    errors("the header is not a JSON object", tg.load, file("hello world"))
    errors("the header is not a JSON object", tg.load, file("[1, 2]  "))
    errors("not UTF-8", tg.load, file('{"\255":1}'))
    errors("unexpected bytes after the JSON object", tg.load, file("{} x"))
    errors("unterminated string", tg.load, file('{"abc'))
    errors("expected ':'", tg.load, file('{"a" 1}'))
    errors("control character in string", tg.load, file('{"a\nb":{}}'))
    errors("bad escape in string", tg.load, file('{"a\\qb":{}}'))
    errors("lone surrogate", tg.load, file('{"\\ud800":{}}'))
    errors("expected '{'", tg.load, file('{"a":[]}'))
    errors("unexpected end", tg.load, file('{"a":{"dtype":"F32"'))
  end)

  it("rejects bad entries: unknown dtype, negative or fractional dims, missing or extra fields", function()
    errors("tensor 'a' has unknown dtype 'F128'", tg.load, file("{" .. entry("a", "F128", "1", 0, 16) .. "}", ("\0"):rep(16)))
    errors("negative value in shape", tg.load, file("{" .. entry("a", "F32", "-1", 0, 4) .. "}", ("\0"):rep(4)))
    errors("expected an integer in shape", tg.load, file("{" .. entry("a", "F32", "2.5", 0, 4) .. "}", ("\0"):rep(4)))
    errors("expected an integer in shape", tg.load, file("{" .. entry("a", "F32", "1e3", 0, 4) .. "}", ("\0"):rep(4)))
    errors("integer too large in shape", tg.load, file("{" .. entry("a", "F32", "99999999999999999999", 0, 4) .. "}", ("\0"):rep(4)))
    errors("tensor 'a' has no data_offsets", tg.load, file('{"a":{"dtype":"F32","shape":[1]}}'))
    errors("tensor 'a' has no dtype", tg.load, file('{"a":{"shape":[1],"data_offsets":[0,4]}}', ("\0"):rep(4)))
    errors("unexpected key 'extra' in tensor 'a'", tg.load, file('{"a":{"dtype":"F32","extra":1}}'))
    errors("duplicate key 'dtype' in tensor 'a'", tg.load, file('{"a":{"dtype":"F32","dtype":"F64"}}'))
    errors("data_offsets of tensor 'a' must hold exactly 2 integers", tg.load,
      file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', ("\0"):rep(8)))
    errors("more dimensions than tgrad's limit of 16", tg.load,
      file("{" .. entry("a", "F32", ("1,"):rep(16) .. "1", 0, 4) .. "}", ("\0"):rep(4)))
    errors("__metadata__ value of 'k' is not a string", tg.load, file('{"__metadata__":{"k":1}}'))
    errors("duplicate key 'k' in __metadata__", tg.load, file('{"__metadata__":{"k":"a","k":"b"}}'))
  end)

  it("rejects duplicate tensor names", function()
    errors("duplicate key 'a'", tg.load, file("{" .. entry("a", "F32", "1", 0, 4) .. "," .. entry("a", "F32", "1", 4, 8) .. "}",
      ("\0"):rep(8)))
  end)

  it("rejects shape/offset mismatches, including sizes that overflow", function()
    errors("tensor 'a' of dtype F32 and shape [2, 3] needs 24 bytes, but its data_offsets [0, 20] span 20", tg.load,
      file("{" .. entry("a", "F32", "2,3", 0, 20) .. "}", ("\0"):rep(20)))
    errors("needs too many bytes", tg.load,
      file("{" .. entry("a", "F64", "4294967296,4294967296,4294967296", 0, 0) .. "}"))
    errors("needs too many bytes", tg.load, -- zero elements, but the other dims overflow a size
      file("{" .. entry("a", "F64", "0,4294967296,4294967296,4294967296", 0, 0) .. "}"))
    errors("end before they begin", tg.load, file("{" .. entry("a", "F32", "1", 8, 4) .. "}", ("\0"):rep(8)))
  end)

  it("rejects overlapping, non-contiguous, out-of-range and incomplete offsets", function()
    local two = function(b1, e1, b2, e2) return "{" .. entry("a", "F32", "1", b1, e1) .. "," .. entry("b", "F32", "1", b2, e2) .. "}" end
    errors("overlapping offsets", tg.load, file(two(0, 4, 2, 6), ("\0"):rep(8)))
    errors("overlapping offsets", tg.load, file(two(0, 4, 0, 4), ("\0"):rep(8)))
    errors("offsets not contiguous", tg.load, file(two(0, 4, 8, 12), ("\0"):rep(12)))
    errors("offsets not contiguous", tg.load, file("{" .. entry("a", "F32", "1", 4, 8) .. "}", ("\0"):rep(8)))
    errors("past the end of the data (6 bytes)", tg.load, file(two(0, 4, 4, 8), ("\0"):rep(6)))
    errors("the tensors cover 8 bytes of data, but the file holds 12", tg.load, file(two(0, 4, 4, 8), ("\0"):rep(12)))
    errors("past the end of the data", tg.load,
      file("{" .. entry("a", "F32", "268435456", 0, "1073741824") .. "}", ("\0"):rep(4)))
  end)

  it("accepts offsets listed out of order and empty tensors anywhere", function()
    local h = "{" .. entry("b", "F32", "1", 4, 8) .. "," .. entry("z", "F32", "0", 4, 4) .. "," .. entry("a", "F32", "1", 0, 4) .. "}"
    local t = tg.load(file(h, string.pack("<ff", 1.5, 2.5)))
    assert.are.same({1.5}, t.a:tolist())
    assert.are.same({2.5}, t.b:tolist())
    assert.are.same({0}, t.z.shape)
  end)

  it("decodes \\u escapes in names (surrogate pairs too) and accepts an empty file of tensors", function()
    local t = tg.load(file('{"\\u00e9\\ud83d\\ude00":{"dtype":"I8","shape":[],"data_offsets":[0,1]}}', "\255"))
    assert.are.same(-1, t["é😀"]:item())
    local empty, meta = tg.load(file('{"__metadata__":{}}  '))
    assert.are.same({}, empty)
    assert.are.same({}, meta)
  end)

  it("every truncation of a real file is a clear error", function()
    local bytes = read(FIX .. "mixed.safetensors")
    for n = 0, #bytes - 1 do
      write(scratch, bytes:sub(1, n))
      local ok, err = pcall(tg.load, scratch)
      assert(not ok, ("truncated to %d bytes, loaded"):format(n))
      assert(tostring(err):find("tgrad.load: ", 1, true), err)
    end
  end)

  it("every flipped header byte gives a clear error or a consistent load, never a crash", function()
    local bytes = read(FIX .. "mixed.safetensors")
    local n = string.unpack("<I8", bytes)
    local loaded = 0
    for i = 1, 8 + n do
      for _, flip in ipairs {0x01, 0x20, 0x80} do
        local c = string.char(bytes:byte(i) ~ flip)
        write(scratch, bytes:sub(1, i - 1) .. c .. bytes:sub(i + 1))
        local ok, res = pcall(tg.load, scratch)
        if ok then
          loaded = loaded + 1
        else
          assert(tostring(res):find("tgrad.load: ", 1, true), res)
        end
      end
    end
    assert(loaded > 0 and loaded < 3 * (8 + n)) -- some flips are harmless (inside names), most are not
  end)

  it("refuses bad arguments", function()
    errors("path must be a string", tg.load, 3)
    errors("cannot open", tg.load, "/nonexistent-file.safetensors")
    local ok, err = pcall(tg.load, "/")
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("tgrad.load: ", 1, true))
    errors("load() got an unexpected keyword argument 'nestd'", tg.load, FIX .. "mixed.safetensors", {nestd = true})
  end)
end)
