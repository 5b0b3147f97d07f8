-- tgrad.serialize: tg.save / tg.load in the safetensors format
-- (https://github.com/huggingface/safetensors), byte-compatible with Python's
-- `safetensors` package: what safetensors.torch.save_file writes for the same
-- tensors, tgrad writes byte for byte, and each loads the other's files.
--
--   tg.save(path, tensor [, metadata])       one tensor, stored under the key "__tensor__"
--   tg.save(path, {fc = {weight = w}} [, metadata])  a (nested) table of tensors, as
--       flat dotted names ("fc.weight"); a module (anything with :state_dict()) saves its state_dict
--   tg.load(path) -> the tensor (a file of exactly one "__tensor__"), else the flat table
--       {["fc.weight"] = t, ...}; second result: the metadata table (string -> string) or nil
--   tg.load(path, {nested = true}) -> {fc = {weight = t}} (all-digit parts become integer keys)
--
-- The untrusted header is parsed and checked in C (src/binding/safetensors.c).
-- The header is written here: entries sorted as safetensors sorts them (by
-- dtype, widest first, then by name in byte order), offsets in that order,
-- compact JSON escaped as serde_json escapes, padded with spaces to 8 bytes.
-- __metadata__ keys are written in byte order (Python's safetensors writes a
-- hash map's order, so files with two or more metadata keys can differ from
-- Python's in that order, never in content).
return function(tg)
  local is_tensor = tg.is_tensor
  local SINGLE = "__tensor__"

  -- the safetensors name and sort rank (safetensors' Dtype order) of tgrad's dtypes
  local st_name = {float32 = "F32", float64 = "F64", int64 = "I64", bool = "BOOL"}
  local st_rank = {F32 = 15, F64 = 17, I64 = 18, BOOL = 0}

  local function bytes_lt(a, b) -- byte order, whatever the C locale says
    local n = math.min(#a, #b)
    for i = 1, n do
      local x, y = a:byte(i), b:byte(i)
      if x ~= y then return x < y end
    end
    return #a < #b
  end

  local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                   ["\r"] = "\\r", ["\t"] = "\\t"}
  local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(ch)
      return escapes[ch] or (ch:byte() < 32 and ("\\u%04x"):format(ch:byte())) or ch
    end) .. '"'
  end

  local function check_name(k, where)
    if type(k) == "number" and math.type(k) == "integer" then return tostring(k) end
    if type(k) ~= "string" then
      error(("tgrad.save: keys must be strings or integers, got a %s key%s"):format(type(k), where), 0)
    end
    if not utf8.len(k) then error(("tgrad.save: key %q%s is not valid UTF-8"):format(k, where), 0) end
    if k == "__metadata__" then error("tgrad.save: '__metadata__' is reserved by the safetensors format", 0) end
    return k
  end

  -- {fc = {weight = w}} -> {{"fc.weight", w}, ...}
  local function flatten(value, prefix, out, seen)
    if seen[value] then error("tgrad.save: the table holds itself (a cycle at '" .. prefix .. "')", 0) end
    seen[value] = true
    for k, v in pairs(value) do
      local name = check_name(k, prefix ~= "" and (" under '" .. prefix .. "'") or "")
      local full = prefix == "" and name or (prefix .. "." .. name)
      if is_tensor(v) then
        out[#out + 1] = {full, v}
      elseif type(v) == "table" then
        flatten(v, full, out, seen)
      else
        error(("tgrad.save: '%s' is a %s, expected a tensor or a table of tensors"):format(full, type(v)), 0)
      end
    end
    seen[value] = nil
    return out
  end

  local function json_int_list(t)
    local parts = {}
    for i = 1, #t do parts[i] = ("%d"):format(t[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end

  --- the header bytes (padded) and the tensors in write order
  local function build(value, metadata)
    local entries
    if is_tensor(value) then
      entries = {{SINGLE, value}}
    elseif type(value) == "table" then
      if type(value.state_dict) == "function" then value = value:state_dict() end
      entries = flatten(value, "", {}, {})
    else
      error("tgrad.save: expected a tensor or a table of tensors, got " .. type(value), 0)
    end
    local names = {}
    for _, e in ipairs(entries) do
      if names[e[1]] then error(("tgrad.save: two tensors have the name '%s'"):format(e[1]), 0) end
      names[e[1]] = true
      local t = e[2]
      e.dtype = st_name[t.dtype.name]
      if not e.dtype then error("tgrad.save: cannot store dtype " .. tostring(t.dtype), 0) end
      e.nbytes = t:numel() * ((e.dtype == "BOOL" and 1) or (e.dtype == "F32" and 4) or 8)
    end
    table.sort(entries, function(a, b)
      local ra, rb = st_rank[a.dtype], st_rank[b.dtype]
      if ra ~= rb then return ra > rb end
      return bytes_lt(a[1], b[1])
    end)
    local parts, off = {}, 0
    if metadata ~= nil then
      if type(metadata) ~= "table" then error("tgrad.save: metadata must be a table of strings, got " .. type(metadata), 0) end
      local keys = {}
      for k, v in pairs(metadata) do
        if type(k) ~= "string" or type(v) ~= "string" then
          error(("tgrad.save: metadata maps strings to strings, got %s = %s (%s)"):format(tostring(k), tostring(v), type(v)), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, bytes_lt)
      local m = {}
      for i, k in ipairs(keys) do m[i] = json_string(k) .. ":" .. json_string(metadata[k]) end
      parts[1] = '"__metadata__":{' .. table.concat(m, ",") .. "}"
    end
    for _, e in ipairs(entries) do
      parts[#parts + 1] = ('%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}'):format(
        json_string(e[1]), e.dtype, json_int_list(e[2].shape), off, off + e.nbytes)
      off = off + e.nbytes
    end
    local header = "{" .. table.concat(parts, ",") .. "}"
    header = header .. (" "):rep((8 - #header % 8) % 8)
    return header, entries
  end

  local function save(path, value, metadata)
    if type(path) ~= "string" then error("tgrad.save: path must be a string, got " .. type(path), 0) end
    local header, entries = build(value, metadata)
    local f <close>, err = io.open(path, "wb")
    if not f then error("tgrad.save: cannot open " .. tostring(err), 0) end
    f:write(string.pack("<I8", #header), header)
    for _, e in ipairs(entries) do -- a device tensor comes to the cpu one at a time
      local t = e[2]
      tg._st_write(f, t.device == "cpu" and t or t:cpu())
    end
    local ok, werr = f:flush()
    if not ok then error("tgrad.save: " .. path .. ": " .. tostring(werr), 0) end
  end

  local function nest(flat, order)
    local root = {}
    local function key(part)
      return part:match("^%d+$") and math.tointeger(tonumber(part)) or part
    end
    for _, name in ipairs(order) do
      local node, path = root, {}
      local parts = {}
      for part in (name .. "."):gmatch("(.-)%.") do parts[#parts + 1] = part end
      for i = 1, #parts - 1 do
        local k = key(parts[i])
        path[#path + 1] = parts[i]
        local nxt = node[k]
        if nxt == nil then
          nxt = {}
          node[k] = nxt
        elseif is_tensor(nxt) then
          error(("tgrad.load: cannot nest '%s': '%s' is a tensor"):format(name, table.concat(path, ".")), 0)
        end
        node = nxt
      end
      local k = key(parts[#parts])
      if node[k] ~= nil then
        error(("tgrad.load: cannot nest '%s': it is also a prefix of other names"):format(name), 0)
      end
      node[k] = flat[name]
    end
    return root
  end

  local function load(path, opts)
    if type(path) ~= "string" then error("tgrad.load: path must be a string, got " .. type(path), 0) end
    if opts ~= nil and type(opts) ~= "table" then error("tgrad.load: options must be a table", 0) end
    for k in pairs(opts or {}) do
      if k ~= "nested" then error(("load() got an unexpected keyword argument '%s'"):format(tostring(k)), 0) end
    end
    local f <close>, err = io.open(path, "rb")
    if not f then error("tgrad.load: cannot open " .. tostring(err), 0) end
    local tensors, order, metadata = tg._st_load(f, path)
    if #order == 1 and order[1] == SINGLE then return tensors[SINGLE], metadata end
    if opts and opts.nested then return nest(tensors, order), metadata end
    return tensors, metadata
  end

  tg.save = tg._entry(save)
  tg.load = tg._entry(load)
  tg._safetensors_header = build -- for specs: the header tgrad writes
end
