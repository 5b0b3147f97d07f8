-- tgrad.nn.dropout: Dropout, Dropout1d, Dropout2d over tg.F (masks from the
-- state's generator, off in eval()).
return function(tg, nn)
  local A = require("tgrad.nn.args")
  local R = require("tgrad.nn.pyrepr")
  local F = tg.F
  local Module = nn.Module

  local function make(name, fname)
    local C = Module:extend(name)
    nn[name] = C
    --- DropoutX([p = 0.5, inplace = false])
    function C:__init(...)
      local o = A.parse(name, {{"p", 0.5}, {"inplace", false}}, ...)
      if type(o.p) ~= "number" or o.p < 0 or o.p > 1 then
        error(("dropout probability has to be between 0 and 1, but got %s"):format(tostring(o.p)), 2)
      end
      self.p, self.inplace = o.p, o.inplace
    end
    function C:forward(x)
      return F[fname](x, {p = self.p, training = self.training, inplace = self.inplace})
    end
    function C:extra_repr() return ("p=%s, inplace=%s"):format(R.repr(self.p), R.repr(self.inplace)) end
  end
  make("Dropout", "dropout")
  make("Dropout1d", "dropout1d")
  make("Dropout2d", "dropout2d")
end
