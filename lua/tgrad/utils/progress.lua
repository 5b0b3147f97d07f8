-- tgrad.utils.progress: a progress bar for training loops, drawn on stderr
-- in the style of tqdm:
--
--   train:  45%|███████▋         | 45/100 [00:02<00:03, 19.52it/s, loss=0.4213]
--
--   local bar = tg.utils.progress(#loader, {desc = "epoch 1"})
--   for xb, yb in loader:iter() do ...; bar:update(1, {loss = loss:item()}) end
--   bar:close()
--   -- or, as an iterator (closes itself at the end):
--   for i, bar in tg.utils.progress(100, {desc = "steps"}) do ... bar:set_postfix{loss = l} end
--
-- Numbers given to update() / set_postfix() show as running means since the
-- bar started (a "running loss"); strings show as given. It draws only when
-- stderr (or opts.file) is a terminal, or opts.enabled = true, at most every
-- opts.mininterval seconds (0.1), and is silent otherwise. opts.writer (a function taking
-- the text; implies enabled) and opts.clock (a function giving seconds) replace stderr and the
-- wall clock; opts.width (else $COLUMNS, else 80) is the line width; n may be
-- nil for an unknown total (no bar and no ETA then).
return function(tg)
  local Bar = {__name = "tgrad.utils.progress"}
  Bar.__index = Bar

  local function fmt_time(s)
    s = math.max(0, math.floor(s)) -- truncated, as tqdm
    local h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    if h > 0 then return ("%d:%02d:%02d"):format(h, m, sec) end
    return ("%02d:%02d"):format(m, sec)
  end

  local function fmt_num(v)
    if math.type(v) == "integer" then return tostring(v) end
    local a = math.abs(v)
    if a ~= 0 and (a < 1e-3 or a >= 1e5) then return ("%.3e"):format(v) end
    return ("%.4f"):format(v)
  end

  local blocks = {" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"}

  local function bar_str(frac, width)
    frac = math.min(math.max(frac, 0), 1)
    local cells = frac * width
    local full = math.floor(cells)
    local part = math.floor((cells - full) * 8)
    local s = ("█"):rep(full)
    if full < width then s = s .. blocks[part + 1] .. (" "):rep(width - full - 1) end
    return s
  end

  --- the line as drawn now (without the leading carriage return)
  function Bar:format(now)
    now = now or self.clock()
    local elapsed = now - self.start
    local rate = elapsed > 0 and self.count / elapsed or nil
    local post = {}
    for _, k in ipairs(self.keys) do
      local v = self.post[k]
      if type(v) == "table" then v = fmt_num(v.sum / v.n) else v = tostring(v) end
      post[#post + 1] = k .. "=" .. v
    end
    local rate_s = rate and (rate >= 1 and ("%.2fit/s"):format(rate) or ("%.2fs/it"):format(1 / rate)) or "?it/s"
    local extra = #post > 0 and (", " .. table.concat(post, ", ")) or ""
    local prefix = self.desc and (self.desc .. ": ") or ""
    if not self.total then
      return ("%s%d [%s, %s%s]"):format(prefix, self.count, fmt_time(elapsed), rate_s, extra)
    end
    local eta = (rate and rate > 0) and fmt_time((self.total - self.count) / rate) or "?"
    local pct = self.total > 0 and math.floor(100 * self.count / self.total) or 100
    local left = ("%s%3d%%|"):format(prefix, pct)
    local right = ("| %d/%d [%s<%s, %s%s]"):format(self.count, self.total, fmt_time(elapsed), eta, rate_s, extra)
    local width = math.max(10, self.width - utf8.len(left) - utf8.len(right))
    return left .. bar_str(self.total > 0 and self.count / self.total or 1, width) .. right
  end

  function Bar:_draw(now, force)
    if not self.enabled then return end
    now = now or self.clock()
    if not force and self.last_draw and now - self.last_draw < self.mininterval then return end
    self.last_draw = now
    local line = self:format(now)
    if line == self.last_line then return end
    self.last_line = line
    local pad = (" "):rep(math.max(0, (self.last_len or 0) - utf8.len(line)))
    self.writer("\r" .. line .. pad)
    self.last_len = utf8.len(line)
  end

  local function add_post(self, post)
    if post == nil then return end
    if type(post) ~= "table" then error("progress: the postfix must be a table such as {loss = 0.5}", 3) end
    local keys = {}
    for k in pairs(post) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = post[k]
      if tg.is_tensor(v) then v = v:item() end
      if not self.post[k] then self.keys[#self.keys + 1] = k end
      if type(v) == "number" then
        local acc = type(self.post[k]) == "table" and self.post[k] or {sum = 0, n = 0}
        acc.sum, acc.n = acc.sum + v, acc.n + 1
        self.post[k] = acc
      else
        self.post[k] = tostring(v)
      end
    end
  end

  --- bar:update([k = 1] [, postfix]): k more steps done; postfix values join the running means
  function Bar:update(k, post)
    if type(k) == "table" then k, post = 1, k end
    k = k or 1
    if type(k) ~= "number" then error("progress:update() expects a number of steps", 2) end
    if self.closed then return self end
    self.count = self.count + k
    add_post(self, post)
    self:_draw(nil, self.total ~= nil and self.count >= self.total)
    return self
  end

  --- bar:set_postfix(tbl): add values without advancing
  function Bar:set_postfix(post)
    add_post(self, post)
    self:_draw()
    return self
  end

  --- bar:close(): the final line, then a newline (once)
  function Bar:close()
    if self.closed then return end
    self.closed = true
    if self.enabled then
      self:_draw(nil, true)
      self.writer("\n")
    end
  end
  Bar.__close = Bar.close

  -- `for i, bar in tg.utils.progress(n)`: i = 1..n; each new step marks the previous one done
  function Bar.__call(self, _, i)
    if i ~= nil then self:update(1) end
    local nxt = (i or 0) + 1
    if self.total and nxt > self.total or self.closed then
      self:close()
      return nil
    end
    return nxt, self
  end

  local allowed = {desc = true, file = true, writer = true, clock = true, enabled = true, width = true, mininterval = true}

  return function(n, opts)
    opts = opts or {}
    if n ~= nil and (math.type(n) ~= "integer" or n < 0) then
      error("progress(n): n must be a non-negative integer or nil, got " .. tostring(n), 2)
    end
    if type(opts) ~= "table" then error("progress(): options must be a table", 2) end
    for k in pairs(opts) do
      if not allowed[k] then error(("progress() got an unexpected keyword argument '%s'"):format(tostring(k)), 2) end
    end
    local file = opts.file or io.stderr
    local enabled = opts.enabled
    if enabled == nil then enabled = opts.writer ~= nil or tg._isatty(file) end
    local writer = opts.writer or function(s)
      file:write(s)
      file:flush()
    end
    local clock = opts.clock or tg._monotonic
    local self = setmetatable({
      total = n, desc = opts.desc, count = 0, post = {}, keys = {}, enabled = enabled and true or false,
      writer = writer, clock = clock, width = opts.width or tonumber(os.getenv("COLUMNS") or "") or 80,
      mininterval = opts.mininterval or 0.1,
    }, Bar)
    self.start = clock()
    self:_draw(self.start, true)
    -- the extra values serve the generic for: (iterator, state, control, to-be-closed)
    return self, nil, nil, self
  end
end
