-- tgrad.nn: tg.nn, the layers of torch.nn in Lua. Each concern has its file
-- (module.lua the base class, linear.lua, conv.lua, pooling.lua, ...); the
-- functional forms they call are in tg.F (tgrad.nn.functional).
return function(tg)
  local nn = tg.nn
  require("tgrad.nn.parameter")(tg, nn)
  require("tgrad.nn.module")(tg, nn)
  nn.init = require("tgrad.nn.weight_init")(tg)
  require("tgrad.nn.linear")(tg, nn)
  require("tgrad.nn.conv")(tg, nn)
  require("tgrad.nn.pooling")(tg, nn)
  require("tgrad.nn.normalization")(tg, nn)
  require("tgrad.nn.dropout")(tg, nn)
  require("tgrad.nn.sparse")(tg, nn)
  require("tgrad.nn.activation")(tg, nn)
  require("tgrad.nn.loss")(tg, nn)
  require("tgrad.nn.container")(tg, nn)
  require("tgrad.nn.recurrent")(tg, nn)
  require("tgrad.nn.attention")(tg, nn)
  nn.utils = require("tgrad.nn.utils")(tg)
  return nn
end
