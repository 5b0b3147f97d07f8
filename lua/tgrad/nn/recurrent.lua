-- tgrad.nn.recurrent: RNN, LSTM, GRU and their cells, as torch.nn's: the same
-- parameter names (weight_ih_l0, bias_hh_l1_reverse, ...) and gate order (LSTM
-- i f g o, GRU r z n), so checkpoints move both ways; uniform(-1/sqrt(hidden),
-- 1/sqrt(hidden)) initialisation. Written with differentiable ops: the input
-- projection of a whole layer is one matmul, then one step per time index.
--   local out, h_n = rnn(x [, h_0])           RNN, GRU
--   local out, hc = lstm(x [, {h_0, c_0}])    LSTM: hc = {h_n, c_n}
-- x is (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F, init = tg.F, nn.init
  local Module = nn.Module
  local empty_param = nn._empty_param

  local GATES = {RNN = 1, LSTM = 4, GRU = 3}

  local function shape_str(s)
    local p = {}
    for i, v in ipairs(s) do p[i] = tostring(v) end
    return "[" .. table.concat(p, ", ") .. "]"
  end

  -- one step of a cell from the input projection gi (N, G) and the hidden state
  local function rnn_step(nonlin, gi, h, w_hh, b_hh)
    local g = gi + F.linear(h, w_hh, b_hh)
    return nonlin == "relu" and tg.relu(g) or tg.tanh(g)
  end

  local function lstm_step(gi, h, c, w_hh, b_hh)
    local g = (gi + F.linear(h, w_hh, b_hh)):chunk(4, 2)
    local i, f, gg, o = tg.sigmoid(g[1]), tg.sigmoid(g[2]), tg.tanh(g[3]), tg.sigmoid(g[4])
    local c2 = f * c + i * gg
    return o * tg.tanh(c2), c2
  end

  local function gru_step(gi, h, w_hh, b_hh)
    local gh = F.linear(h, w_hh, b_hh):chunk(3, 2)
    local ix = gi:chunk(3, 2)
    local r = tg.sigmoid(ix[1] + gh[1])
    local z = tg.sigmoid(ix[2] + gh[2])
    local n = tg.tanh(ix[3] + r * gh[3])
    return (1 - z) * n + z * h
  end

  ------------------------------------------------------------ RNNBase
  local function make_rnn(name, mode)
    local C = Module:extend(name)
    nn[name] = C
    local spec = {{"input_size", A.REQUIRED}, {"hidden_size", A.REQUIRED}, {"num_layers", 1}}
    if mode == "RNN" then spec[#spec + 1] = {"nonlinearity", "tanh"} end
    for _, e in ipairs({{"bias", true}, {"batch_first", false}, {"dropout", 0.0}, {"bidirectional", false}}) do
      spec[#spec + 1] = e
    end
    if mode == "LSTM" then spec[#spec + 1] = {"proj_size", 0} end
    spec[#spec + 1] = {"device"}
    spec[#spec + 1] = {"dtype"}

    --- Name(input_size, hidden_size [, num_layers = 1, (nonlinearity = "tanh",) bias = true,
    --- batch_first = false, dropout = 0, bidirectional = false] [, {opts}])
    function C:__init(...)
      local o = A.parse(name, spec, ...)
      if type(o.dropout) ~= "number" or o.dropout < 0 or o.dropout > 1 then
        error("dropout should be a number in range [0, 1] representing the probability of an element being zeroed", 2)
      end
      if math.type(o.hidden_size) ~= "integer" or o.hidden_size <= 0 then
        error("hidden_size must be greater than zero", 2)
      end
      if math.type(o.num_layers) ~= "integer" or o.num_layers <= 0 then
        error("num_layers must be greater than zero", 2)
      end
      if mode == "RNN" and o.nonlinearity ~= "tanh" and o.nonlinearity ~= "relu" then
        error(("Unknown nonlinearity '%s'. Select from 'tanh' or 'relu'."):format(tostring(o.nonlinearity)), 2)
      end
      if mode == "LSTM" and o.proj_size ~= 0 then
        error("LSTM: proj_size is not supported by tgrad (proj_size = 0)", 2)
      end
      self.mode = mode
      self.input_size, self.hidden_size, self.num_layers = o.input_size, o.hidden_size, o.num_layers
      self.nonlinearity = o.nonlinearity
      self.bias, self.batch_first, self.dropout, self.bidirectional = o.bias, o.batch_first, o.dropout, o.bidirectional
      self.proj_size = 0
      local dirs = o.bidirectional and 2 or 1
      local gate = GATES[mode] * o.hidden_size
      self._flat_names = {}
      for layer = 0, o.num_layers - 1 do
        for d = 0, dirs - 1 do
          local in_size = layer == 0 and o.input_size or o.hidden_size * dirs
          local sfx = ("_l%d%s"):format(layer, d == 1 and "_reverse" or "")
          local names = {"weight_ih" .. sfx, "weight_hh" .. sfx}
          self[names[1]] = empty_param({gate, in_size}, o)
          self[names[2]] = empty_param({gate, o.hidden_size}, o)
          if o.bias then
            names[3], names[4] = "bias_ih" .. sfx, "bias_hh" .. sfx
            self[names[3]] = empty_param({gate}, o)
            self[names[4]] = empty_param({gate}, o)
          end
          for _, n in ipairs(names) do self._flat_names[#self._flat_names + 1] = n end
        end
      end
      self:reset_parameters()
    end

    function C:reset_parameters()
      local stdv = self.hidden_size > 0 and 1 / math.sqrt(self.hidden_size) or 0
      for _, p in ipairs(self:parameters()) do init.uniform_(p, -stdv, stdv) end
    end

    function C:extra_repr()
      local s = ("%d, %d"):format(self.input_size, self.hidden_size)
      if self.num_layers ~= 1 then s = s .. ", num_layers=" .. self.num_layers end
      if self.bias ~= true then s = s .. ", bias=" .. R.repr(self.bias) end
      if self.batch_first ~= false then s = s .. ", batch_first=" .. R.repr(self.batch_first) end
      if self.dropout ~= 0 then s = s .. ", dropout=" .. R.repr(self.dropout) end
      if self.bidirectional ~= false then s = s .. ", bidirectional=" .. R.repr(self.bidirectional) end
      return s
    end

    function C:forward(input, hx)
      local nd = input:dim()
      if nd ~= 2 and nd ~= 3 then
        error(("%s: Expected input to be 2D or 3D, got %dD tensor instead"):format(name, nd), 2)
      end
      local batched = nd == 3
      local x = input
      if not batched then x = x:unsqueeze(2)
      elseif self.batch_first then x = x:transpose(1, 2) end
      local L, N = x.shape[1], x.shape[2]
      if x.shape[3] ~= self.input_size then
        error(("input.size(-1) must be equal to input_size. Expected %d, got %d"):format(self.input_size, x.shape[3]), 2)
      end
      local dirs = self.bidirectional and 2 or 1
      local H = self.hidden_size
      local want = {self.num_layers * dirs, N, H}
      local h0, c0
      local function check_state(t, what)
        local s = batched and t.shape or {t.shape[1], 1, t.shape[2]}
        if (not batched and t:dim() ~= 2) or (batched and t:dim() ~= 3) then
          error(("For %s input, hx should also be %s but got %d-D tensor"):format(batched and "batched 3-D" or
            "unbatched 2-D", batched and "3-D" or "2-D", t:dim()), 3)
        end
        if s[1] ~= want[1] or s[2] ~= want[2] or s[3] ~= want[3] then
          error(("Expected %s size %s, got %s"):format(what, R.repr(want), shape_str(s)), 3)
        end
        return batched and t or t:unsqueeze(2)
      end
      if mode == "LSTM" then
        if hx ~= nil then
          if type(hx) ~= "table" or tg.is_tensor(hx) then error("LSTM: hx must be a table {h_0, c_0}", 2) end
          h0, c0 = check_state(hx[1], "hidden[0]"), check_state(hx[2], "hidden[1]")
        end
      elseif hx ~= nil then
        h0 = check_state(hx, "hidden")
      end
      local zeros = tg.zeros({self.num_layers * dirs, N, H}, {dtype = x.dtype})
      h0 = h0 or zeros
      if mode == "LSTM" then c0 = c0 or zeros end
      local hn, cn = {}, {}
      local layer_in = x
      for layer = 0, self.num_layers - 1 do
        local outs = {}
        for d = 0, dirs - 1 do
          local sfx = ("_l%d%s"):format(layer, d == 1 and "_reverse" or "")
          local w_ih, w_hh = self["weight_ih" .. sfx], self["weight_hh" .. sfx]
          local b_ih, b_hh = self["bias_ih" .. sfx], self["bias_hh" .. sfx]
          local idx = layer * dirs + d + 1
          -- every time step's input projection in one product: (L*N, in) -> (L, N, G)
          local gi_all = F.linear(layer_in:reshape(L * N, layer_in.shape[3]), w_ih, b_ih):view(L, N, w_ih.shape[1])
          local h, c = h0[idx], c0 and c0[idx]
          local steps = {}
          for s = 1, L do
            local t = d == 0 and s or (L - s + 1)
            local gi = gi_all[t]
            if mode == "RNN" then h = rnn_step(self.nonlinearity, gi, h, w_hh, b_hh)
            elseif mode == "LSTM" then h, c = lstm_step(gi, h, c, w_hh, b_hh)
            else h = gru_step(gi, h, w_hh, b_hh) end
            steps[t] = h
          end
          outs[#outs + 1] = L > 0 and tg.stack(steps, 1) or tg.zeros({0, N, H}, {dtype = x.dtype})
          hn[idx], cn[idx] = h, c
        end
        layer_in = dirs == 2 and tg.cat(outs, 3) or outs[1]
        if self.dropout > 0 and self.training and layer < self.num_layers - 1 then
          layer_in = F.dropout(layer_in, {p = self.dropout, training = true})
        end
      end
      local output = layer_in
      local h_n = tg.stack(hn, 1)
      local c_n = mode == "LSTM" and tg.stack(cn, 1) or nil
      if not batched then
        output = output:squeeze(2)
        h_n = h_n:squeeze(2)
        if c_n then c_n = c_n:squeeze(2) end
      elseif self.batch_first then
        output = output:transpose(1, 2)
      end
      if mode == "LSTM" then return output, {h_n, c_n} end
      return output, h_n
    end
    return C
  end
  make_rnn("RNN", "RNN")
  make_rnn("LSTM", "LSTM")
  make_rnn("GRU", "GRU")

  ------------------------------------------------------------ cells
  local function make_cell(name, mode)
    local C = Module:extend(name)
    nn[name] = C
    local spec = {{"input_size", A.REQUIRED}, {"hidden_size", A.REQUIRED}, {"bias", true}}
    if mode == "RNN" then spec[#spec + 1] = {"nonlinearity", "tanh"} end
    spec[#spec + 1] = {"device"}
    spec[#spec + 1] = {"dtype"}
    --- NameCell(input_size, hidden_size [, bias = true (, nonlinearity = "tanh")])
    function C:__init(...)
      local o = A.parse(name, spec, ...)
      if mode == "RNN" and o.nonlinearity ~= "tanh" and o.nonlinearity ~= "relu" then
        error(("Unknown nonlinearity: %s"):format(tostring(o.nonlinearity)), 2)
      end
      self.input_size, self.hidden_size, self.bias, self.nonlinearity = o.input_size, o.hidden_size, o.bias,
        o.nonlinearity
      local gate = GATES[mode] * o.hidden_size
      self.weight_ih = empty_param({gate, o.input_size}, o)
      self.weight_hh = empty_param({gate, o.hidden_size}, o)
      if o.bias then
        self.bias_ih = empty_param({gate}, o)
        self.bias_hh = empty_param({gate}, o)
      else
        self:register_parameter("bias_ih", nil)
        self:register_parameter("bias_hh", nil)
      end
      self:reset_parameters()
    end
    C.reset_parameters = nn.RNN.reset_parameters
    function C:extra_repr()
      local s = ("%d, %d"):format(self.input_size, self.hidden_size)
      if self.bias ~= true then s = s .. ", bias=" .. R.repr(self.bias) end
      if self.nonlinearity ~= nil and self.nonlinearity ~= "tanh" then s = s .. ", nonlinearity=" .. self.nonlinearity end
      return s
    end
    --- forward(x [, h]) -> h' (RNNCell, GRUCell); LSTMCell: forward(x [, {h, c}]) -> h', c'
    function C:forward(x, hx)
      local nd = x:dim()
      if nd ~= 1 and nd ~= 2 then
        error(("%s: Expected input to be 1D or 2D, got %dD instead"):format(name, nd), 2)
      end
      local batched = nd == 2
      local xb = batched and x or x:unsqueeze(1)
      if xb.shape[2] ~= self.input_size then
        error(("input has inconsistent input_size: got %d expected %d"):format(xb.shape[2], self.input_size), 2)
      end
      local zeros = tg.zeros({xb.shape[1], self.hidden_size}, {dtype = x.dtype})
      local function state(t) if t == nil then return zeros end return batched and t or t:unsqueeze(1) end
      local gi = F.linear(xb, self.weight_ih, self.bias_ih)
      local h, c
      if mode == "LSTM" then
        local h0, c0
        if hx ~= nil then h0, c0 = hx[1], hx[2] end
        h, c = lstm_step(gi, state(h0), state(c0), self.weight_hh, self.bias_hh)
      elseif mode == "GRU" then
        h = gru_step(gi, state(hx), self.weight_hh, self.bias_hh)
      else
        h = rnn_step(self.nonlinearity, gi, state(hx), self.weight_hh, self.bias_hh)
      end
      if not batched then
        h = h:squeeze(1)
        if c then c = c:squeeze(1) end
      end
      if mode == "LSTM" then return h, c end
      return h
    end
  end
  make_cell("RNNCell", "RNN")
  make_cell("LSTMCell", "LSTM")
  make_cell("GRUCell", "GRU")
end
