-- tgrad.models: reference models with torchvision's layouts and parameter
-- names, so that torchvision's state_dict (saved as safetensors) loads with
-- strict = true.
return function(tg)
  local models = {}
  require("tgrad.models.resnet")(tg, models)
  return models
end
