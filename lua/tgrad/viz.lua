-- tgrad.viz: pictures of the autograd graph (in the style of torchviz's
-- make_dot) and of training curves (standalone SVG).
--
--   tg.viz.dot(root, {params, show_attrs, show_saved, max_attr_chars}) -> DOT text
--   tg.viz.render(root, path, opts)  -> path: .svg/.png/.pdf through Graphviz's `dot`, .dot/.gv as text
--   tg.viz.plot(series, path, {title, xlabel, ylabel, width, height}) -> path (SVG)
return function(tg)
  local is_tensor = tg.is_tensor
  local viz = {}

  ---------------------------------------------------------------- DOT text
  -- quoting as Python's graphviz package does: bare identifiers and numerals
  -- stay bare, anything else is double-quoted with unescaped quotes escaped
  local keywords = {node = true, edge = true, graph = true, digraph = true, subgraph = true, strict = true}
  local function quote(s)
    s = tostring(s)
    if not keywords[s:lower()] and (s:match("^[%a_\128-\255][%w_\128-\255]*$") or s:match("^%-?%.%d+$")
        or s:match("^%-?%d+%.?%d*$")) then
      return s
    end
    return '"' .. s:gsub('\\"', "\0"):gsub('"', '\\"'):gsub("%z", '\\"') .. '"'
  end

  -- PyTorch's tuple style: (32, 4), (2) for one dim, () for 0-d
  local function size_str(shape)
    local p = {}
    for i, v in ipairs(shape) do p[i] = ("%d"):format(v) end
    return "(" .. table.concat(p, ", ") .. ")"
  end

  -- Python's repr of a float (shortest round trip, ".0" when integral)
  local function py_float(x)
    local s
    for prec = 1, 17 do
      s = ("%." .. prec .. "g"):format(x)
      if tonumber(s) == x then break end
    end
    if not s:find("[.eni]") then s = s .. ".0" end
    return s
  end

  -- params: {name = tensor}, an iterator (m:named_parameters()), or a module
  local function param_map(params)
    local map = {}
    if params == nil then return map end
    local function add(name, t)
      if not is_tensor(t) then
        error(("tgrad.viz.dot: params['%s'] is a %s, expected a tensor"):format(tostring(name), type(t)), 0)
      end
      map[tg._tensor_id(t)] = tostring(name)
    end
    if type(params) == "function" then
      for name, t in params do add(name, t) end
    elseif type(params) == "table" and type(params.named_parameters) == "function" then
      for name, t in params:named_parameters() do add(name, t) end
    elseif type(params) == "table" then
      for name, t in pairs(params) do add(name, t) end
    else
      error("tgrad.viz.dot: params must be a table of name = tensor, got " .. type(params), 0)
    end
    return map
  end

  -- the attributes shown with show_attrs: tgrad's nodes name no fields, so
  -- saved tensors ("result" for a saved output) and the input gradients' sizes
  local function saved_names(fn)
    local out, k = {}, 0
    for _, s in ipairs(fn:_saved()) do
      local name
      if s.is_output then
        name = "result"
      else
        k = k + 1
        name = "saved" .. k
      end
      out[#out + 1] = {name = name, tensor = s.tensor}
    end
    return out
  end

  local function fn_label(fn, show_attrs, max_chars)
    local name = fn.name
    if not show_attrs then return name end
    local attrs, keys = {}, {}
    for _, s in ipairs(saved_names(fn)) do attrs[s.name] = "[saved tensor]" end
    for i, sz in ipairs(fn:_input_sizes()) do attrs["input" .. i .. "_sizes"] = size_str(sz) end
    for k in pairs(attrs) do keys[#keys + 1] = k end
    if #keys == 0 then return name end
    table.sort(keys)
    max_chars = math.max(max_chars, 3)
    local w1, w2 = 0, 0
    for _, k in ipairs(keys) do
      w1 = math.max(w1, #k)
      w2 = math.max(w2, #attrs[k])
    end
    w2 = math.min(w2, max_chars)
    local lines = {name, ("-"):rep(math.max(w1 + w2 + 2, #name))}
    for _, k in ipairs(keys) do
      local v = attrs[k]
      if #v > w2 then v = v:sub(1, w2 - 3) .. "..." end
      lines[#lines + 1] = ("%-" .. w1 .. "s: %" .. w2 .. "s"):format(k, v)
    end
    return table.concat(lines, "\n")
  end

  --- tg.viz.dot(root, opts) -> DOT source (a string)
  local function dot(root, opts)
    opts = opts or {}
    if type(opts) ~= "table" then error("tgrad.viz.dot: options must be a table", 0) end
    for k in pairs(opts) do
      if k ~= "params" and k ~= "show_attrs" and k ~= "show_saved" and k ~= "max_attr_chars" then
        error(("make_dot() got an unexpected keyword argument '%s'"):format(tostring(k)), 0)
      end
    end
    local roots
    if is_tensor(root) then
      roots = {root}
    elseif type(root) == "table" and #root > 0 then
      roots = root
      for i, r in ipairs(roots) do
        if not is_tensor(r) then error(("tgrad.viz.dot: root[%d] is a %s, expected a tensor"):format(i, type(r)), 0) end
      end
    else
      error("tgrad.viz.dot: expected a tensor or a list of tensors, got " .. type(root), 0)
    end
    local pmap = param_map(opts.params)
    local show_attrs, show_saved = opts.show_attrs and true, opts.show_saved and true
    local max_chars = opts.max_attr_chars or 50

    local body = {}
    local ids, next_id = {}, 0
    local function id_of(key) -- node ids in order of first mention
      local i = ids[key]
      if not i then
        next_id = next_id + 1
        i = next_id
        ids[key] = i
      end
      return i
    end
    local function tid(t) return id_of("t" .. tg._tensor_id(t)) end
    local function nid(fn) return id_of(fn) end -- graph nodes are cached userdata: one per node
    local function node(id, label, color)
      body[#body + 1] = ("\t%s [label=%s%s]\n"):format(id, quote(label), color and (" fillcolor=" .. color) or "")
    end
    local function edge(a, b, attr)
      body[#body + 1] = ("\t%s -> %s%s\n"):format(a, b, attr and (" [" .. attr .. "]") or "")
    end
    local function var_name(t, name)
      if not name or name == "" then name = pmap[tg._tensor_id(t)] or "" end
      return ("%s\n %s"):format(name, size_str(t.shape))
    end

    local seen = {}
    local function add_nodes(fn)
      if seen[fn] then return end
      seen[fn] = true
      local custom = fn:_is_custom()
      if show_saved and not custom then
        for _, s in ipairs(saved_names(fn)) do
          seen["t" .. tg._tensor_id(s.tensor)] = true
          edge(nid(fn), tid(s.tensor), "dir=none")
          node(tid(s.tensor), var_name(s.tensor, s.name), "orange")
        end
      end
      local var = fn.variable
      if var then -- AccumulateGrad: the leaf it accumulates into
        seen["t" .. tg._tensor_id(var)] = true
        node(tid(var), var_name(var), "lightblue")
        edge(tid(var), nid(fn))
      end
      node(nid(fn), fn_label(fn, show_attrs, max_chars))
      for _, nf in ipairs(fn.next_functions) do
        if nf[1] ~= nil then
          edge(nid(nf[1]), nid(fn))
          add_nodes(nf[1])
        end
      end
      if custom then -- a custom Function's saved tensors are always drawn (torchviz: fn.saved_tensors)
        for _, s in ipairs(fn:_saved()) do
          seen["t" .. tg._tensor_id(s.tensor)] = true
          edge(tid(s.tensor), nid(fn), "dir=none")
          node(tid(s.tensor), var_name(s.tensor), "orange")
        end
      end
    end

    local function add_base_tensor(t, color)
      local key = "t" .. tg._tensor_id(t)
      if seen[key] then return end
      seen[key] = true
      node(tid(t), var_name(t), color)
      local fn = t.grad_fn
      if fn then
        add_nodes(fn)
        edge(nid(fn), tid(t))
      end
      local base = tg._view_base(t)
      if base then
        add_base_tensor(base, "darkolivegreen3")
        edge(tid(base), tid(t), "style=dotted")
      end
    end

    for _, r in ipairs(roots) do add_base_tensor(r, "darkolivegreen1") end
    local size = math.max(12, #body * 0.15)
    local size_s = math.type(size) == "integer" and tostring(size) or py_float(size)
    return table.concat {
      "digraph {\n",
      ('\tgraph [size="%s,%s"]\n'):format(size_s, size_s),
      "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n",
      table.concat(body),
      "}\n",
    }
  end

  ---------------------------------------------------------------- render
  local function shell_quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

  local formats = {svg = "svg", png = "png", pdf = "pdf", dot = false, gv = false}

  --- tg.viz.render(root, path, opts): opts as tg.viz.dot's plus `format`
  -- (default: path's extension) and `dot` (the program, default "dot")
  local function render(root, path, opts)
    if type(path) ~= "string" then error("tgrad.viz.render: path must be a string, got " .. type(path), 0) end
    opts = opts or {}
    local dot_opts, fmt, program = {}, opts.format, opts.dot or "dot"
    for k, v in pairs(opts) do
      if k ~= "format" and k ~= "dot" then dot_opts[k] = v end
    end
    fmt = fmt or path:match("%.([%w]+)$")
    fmt = fmt and fmt:lower()
    if formats[fmt] == nil then
      error(("tgrad.viz.render: cannot tell the format of '%s': use a .svg, .png, .pdf or .dot path, or opts.format"):format(path), 0)
    end
    local src = dot(root, dot_opts)
    if not formats[fmt] then
      local f, err = io.open(path, "wb")
      if not f then error("tgrad.viz.render: " .. tostring(err), 0) end
      f:write(src)
      f:close()
      return path
    end
    local found = os.execute("command -v " .. shell_quote(program) .. " >/dev/null 2>&1")
    if not found then
      error(("tgrad.viz.render: Graphviz's `%s` program was not found; install the package \"graphviz\" "
        .. "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or write the DOT text "
        .. "with a .dot path / tg.viz.dot"):format(program), 0)
    end
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(src)
    f:close()
    local errf = tmp .. ".err"
    local ok = os.execute(("%s -T%s -o %s %s 2>%s"):format(shell_quote(program), formats[fmt], shell_quote(path),
      shell_quote(tmp), shell_quote(errf)))
    local ef = io.open(errf, "rb")
    local msg = ef and ef:read("a") or ""
    if ef then ef:close() end
    os.remove(tmp)
    os.remove(errf)
    if not ok then error(("tgrad.viz.render: `%s -T%s` failed: %s"):format(program, formats[fmt], msg), 0) end
    return path
  end

  ---------------------------------------------------------------- plot (SVG)
  local palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"}

  local function xml(s)
    return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                                          ["'"] = "&apos;"}))
  end

  local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

  local function values_of(name, v)
    if is_tensor(v) then v = v:detach():double():reshape(-1):tolist() end
    if type(v) ~= "table" then
      error(("tgrad.viz.plot: series '%s' is a %s, expected a list of numbers"):format(name, type(v)), 0)
    end
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        error(("tgrad.viz.plot: series '%s'[%d] is a %s, expected a number"):format(name, i, type(v[i])), 0)
      end
    end
    return v
  end

  -- series: a list of numbers, {name = list, ...} (drawn in name order), or
  -- a list of {name = ..., values = list}
  local function normalize(series)
    if is_tensor(series) then return {{name = "value", values = values_of("value", series)}} end
    if type(series) ~= "table" then error("tgrad.viz.plot: expected a table of series, got " .. type(series), 0) end
    if #series > 0 and type(series[1]) == "number" then return {{name = "value", values = values_of("value", series)}} end
    local out = {}
    if #series > 0 then
      for i, s in ipairs(series) do
        if type(s) ~= "table" then error(("tgrad.viz.plot: series %d is a %s"):format(i, type(s)), 0) end
        out[i] = {name = tostring(s.name or ("series " .. i)), values = values_of(s.name or i, s.values or s)}
      end
    else
      local names = {}
      for k in pairs(series) do names[#names + 1] = tostring(k) end
      table.sort(names)
      for i, k in ipairs(names) do out[i] = {name = k, values = values_of(k, series[k])} end
    end
    if #out == 0 then error("tgrad.viz.plot: no series to draw", 0) end
    return out
  end

  -- ticks at 1, 2 or 5 times a power of ten covering [lo, hi]
  local function nice_ticks(lo, hi, want, integer)
    if hi <= lo then
      local pad = lo == 0 and 1 or math.abs(lo) * 0.1
      lo, hi = lo - pad, hi + pad
    end
    local raw = (hi - lo) / want
    local mag = 10 ^ math.floor(math.log(raw, 10))
    local step = mag
    for _, m in ipairs {1, 2, 5, 10} do
      step = m * mag
      if step >= raw then break end
    end
    if integer then step = math.max(1, math.floor(step + 0.5)) end
    local a, b = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    local ticks = {}
    for i = 0, math.floor((b - a) / step + 0.5) do ticks[#ticks + 1] = a + i * step end
    return a, b, ticks, step
  end

  local function tick_label(v, step)
    if math.abs(v) < step * 1e-6 then v = 0 end
    local s = ("%.6g"):format(v)
    if step < 1 then
      local digits = math.max(0, math.ceil(-math.log(step, 10) - 1e-9))
      s = ("%." .. digits .. "f"):format(v)
    end
    return s
  end

  local function num(v) return ("%.2f"):format(v):gsub("0+$", ""):gsub("%.$", "") end

  --- tg.viz.plot(series, path, opts) writes a standalone SVG line chart; returns path
  local function plot(series, path, opts)
    if type(path) ~= "string" then error("tgrad.viz.plot: path must be a string, got " .. type(path), 0) end
    opts = opts or {}
    local W, H = opts.width or 640, opts.height or 400
    local list = normalize(series)
    local ml, mr, mt, mb = 70, 20, opts.title and 40 or 20, opts.xlabel and 55 or 40
    local pw, ph = W - ml - mr, H - mt - mb
    local n, lo, hi = 1, math.huge, -math.huge
    for _, s in ipairs(list) do
      n = math.max(n, #s.values)
      for _, v in ipairs(s.values) do
        if finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
      end
    end
    if lo > hi then lo, hi = 0, 1 end
    local y0, y1, yticks, ystep = nice_ticks(lo, hi, 5)
    local x0, x1, xticks = nice_ticks(1, math.max(n, 2), 8, true)
    x0 = math.max(x0, n > 1 and 1 or 0)
    local function X(i) return ml + (i - x0) / (x1 - x0) * pw end
    local function Y(v) return mt + (y1 - v) / (y1 - y0) * ph end
    local out = {
      ('<?xml version="1.0" encoding="UTF-8"?>\n'),
      ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">\n'):format(W, H, W, H),
      ('<rect x="0" y="0" width="%d" height="%d" fill="white"/>\n'):format(W, H),
    }
    local function add(s) out[#out + 1] = s end
    if opts.title then
      add(('<text x="%s" y="24" text-anchor="middle" font-size="15">%s</text>\n'):format(num(ml + pw / 2), xml(opts.title)))
    end
    add('<g class="grid" stroke="#e0e0e0" stroke-width="1">\n')
    for _, v in ipairs(yticks) do add(('<line x1="%s" y1="%s" x2="%s" y2="%s"/>\n'):format(num(ml), num(Y(v)), num(ml + pw), num(Y(v)))) end
    add("</g>\n")
    add('<g class="axes" stroke="black" stroke-width="1">\n')
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s"/>\n'):format(num(ml), num(mt + ph), num(ml + pw), num(mt + ph)))
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s"/>\n'):format(num(ml), num(mt), num(ml), num(mt + ph)))
    for _, v in ipairs(yticks) do add(('<line x1="%s" y1="%s" x2="%s" y2="%s"/>\n'):format(num(ml - 5), num(Y(v)), num(ml), num(Y(v)))) end
    for _, v in ipairs(xticks) do
      if v >= x0 then add(('<line x1="%s" y1="%s" x2="%s" y2="%s"/>\n'):format(num(X(v)), num(mt + ph), num(X(v)), num(mt + ph + 5))) end
    end
    add("</g>\n")
    add('<g class="ticks" fill="black">\n')
    for _, v in ipairs(yticks) do
      add(('<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>\n'):format(num(ml - 8), num(Y(v)), tick_label(v, ystep)))
    end
    for _, v in ipairs(xticks) do
      if v >= x0 then
        add(('<text x="%s" y="%s" text-anchor="middle">%s</text>\n'):format(num(X(v)), num(mt + ph + 20), ("%.0f"):format(v)))
      end
    end
    add("</g>\n")
    if opts.xlabel then
      add(('<text x="%s" y="%s" text-anchor="middle">%s</text>\n'):format(num(ml + pw / 2), num(H - 12), xml(opts.xlabel)))
    end
    if opts.ylabel then
      add(('<text x="16" y="%s" text-anchor="middle" transform="rotate(-90 16 %s)">%s</text>\n'):format(
        num(mt + ph / 2), num(mt + ph / 2), xml(opts.ylabel)))
    end
    for i, s in ipairs(list) do
      local pts = {}
      for k, v in ipairs(s.values) do
        if finite(v) then pts[#pts + 1] = num(X(k)) .. "," .. num(Y(v)) end
      end
      add(('<polyline class="series" data-name="%s" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>\n'):format(
        xml(s.name), palette[(i - 1) % #palette + 1], table.concat(pts, " ")))
    end
    -- legend, top right
    local lw = 40
    for _, s in ipairs(list) do lw = math.max(lw, 34 + 7 * utf8.len(s.name)) end
    local lx, ly = ml + pw - lw - 8, mt + 8
    add(('<g class="legend"><rect x="%s" y="%s" width="%s" height="%s" fill="white" fill-opacity="0.85" stroke="#999"/>\n'):format(
      num(lx), num(ly), num(lw), num(8 + 18 * #list)))
    for i, s in ipairs(list) do
      local yy = ly + 4 + 18 * (i - 1) + 9
      add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>\n'):format(
        num(lx + 6), num(yy), num(lx + 26), num(yy), palette[(i - 1) % #palette + 1]))
      add(('<text x="%s" y="%s" dominant-baseline="middle">%s</text>\n'):format(num(lx + 30), num(yy), xml(s.name)))
    end
    add("</g>\n</svg>\n")
    local f, err = io.open(path, "wb")
    if not f then error("tgrad.viz.plot: " .. tostring(err), 0) end
    f:write(table.concat(out))
    f:close()
    return path
  end

  viz.dot = tg._entry(dot)
  viz.render = tg._entry(render)
  viz.plot = tg._entry(plot)
  viz._quote = quote
  return viz
end
