-- tgrad.models.resnet: ResNet-18/34/50 as torchvision.models.resnet builds them
-- (module names, order and initialisation), e.g.
--   local net = tg.models.resnet18({num_classes = 10})
--   net:load_state_dict(tg.load("resnet18.safetensors"))
-- Layers: conv1 bn1 relu maxpool layer1..layer4 avgpool fc; each layer a
-- Sequential of blocks named 0, 1, ... (so parameters read layer4.1.conv2.weight).
return function(tg, models)
  local nn = tg.nn

  local function conv3x3(cin, cout, stride)
    return nn.Conv2d(cin, cout, 3, {stride = stride or 1, padding = 1, bias = false})
  end
  local function conv1x1(cin, cout, stride)
    return nn.Conv2d(cin, cout, 1, {stride = stride or 1, bias = false})
  end

  --- BasicBlock(inplanes, planes [, stride [, downsample]]): two 3x3 convs and the shortcut
  local BasicBlock = nn.Module:extend("BasicBlock")
  BasicBlock.expansion = 1
  function BasicBlock:__init(inplanes, planes, stride, downsample)
    self.conv1 = conv3x3(inplanes, planes, stride)
    self.bn1 = nn.BatchNorm2d(planes)
    self.relu = nn.ReLU({inplace = true})
    self.conv2 = conv3x3(planes, planes)
    self.bn2 = nn.BatchNorm2d(planes)
    if downsample then self.downsample = downsample end
    self.stride = stride or 1
  end
  function BasicBlock:forward(x)
    local out = self.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    local identity = self.downsample and self.downsample(x) or x
    return self.relu(out + identity)
  end

  --- Bottleneck(inplanes, planes [, stride [, downsample]]): 1x1, 3x3 (stride here, as torchvision v1.5), 1x1
  local Bottleneck = nn.Module:extend("Bottleneck")
  Bottleneck.expansion = 4
  function Bottleneck:__init(inplanes, planes, stride, downsample)
    self.conv1 = conv1x1(inplanes, planes)
    self.bn1 = nn.BatchNorm2d(planes)
    self.conv2 = conv3x3(planes, planes, stride)
    self.bn2 = nn.BatchNorm2d(planes)
    self.conv3 = conv1x1(planes, planes * 4)
    self.bn3 = nn.BatchNorm2d(planes * 4)
    self.relu = nn.ReLU({inplace = true})
    if downsample then self.downsample = downsample end
    self.stride = stride or 1
  end
  function Bottleneck:forward(x)
    local out = self.relu(self.bn1(self.conv1(x)))
    out = self.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    local identity = self.downsample and self.downsample(x) or x
    return self.relu(out + identity)
  end

  --- ResNet(block, layers, {num_classes = 1000, zero_init_residual = false})
  local ResNet = nn.Module:extend("ResNet")
  function ResNet:__init(block, layers, opts)
    opts = opts or {}
    for k in pairs(opts) do
      if k ~= "num_classes" and k ~= "zero_init_residual" then
        error(("ResNet.__init__() got an unexpected keyword argument '%s'"):format(tostring(k)), 4)
      end
    end
    local num_classes = opts.num_classes or 1000
    if math.type(num_classes) ~= "integer" or num_classes < 1 then
      error("num_classes must be a positive integer, got " .. tostring(num_classes), 4)
    end
    self.inplanes = 64
    self.conv1 = nn.Conv2d(3, 64, 7, {stride = 2, padding = 3, bias = false})
    self.bn1 = nn.BatchNorm2d(64)
    self.relu = nn.ReLU({inplace = true})
    self.maxpool = nn.MaxPool2d(3, {stride = 2, padding = 1})
    self.layer1 = self:_make_layer(block, 64, layers[1])
    self.layer2 = self:_make_layer(block, 128, layers[2], 2)
    self.layer3 = self:_make_layer(block, 256, layers[3], 2)
    self.layer4 = self:_make_layer(block, 512, layers[4], 2)
    self.avgpool = nn.AdaptiveAvgPool2d({1, 1})
    self.fc = nn.Linear(512 * block.expansion, num_classes)
    -- torchvision's initialisation: kaiming_normal_ (fan_out, relu) for convs, BN to (1, 0)
    for _, m in ipairs(self:modules()) do
      if m:isinstance(nn.Conv2d) then
        nn.init.kaiming_normal_(m.weight, {mode = "fan_out", nonlinearity = "relu"})
      elseif m:isinstance(nn.BatchNorm2d) then
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
      end
    end
    if opts.zero_init_residual then
      for _, m in ipairs(self:modules()) do
        if m:isinstance(Bottleneck) then nn.init.constant_(m.bn3.weight, 0)
        elseif m:isinstance(BasicBlock) then nn.init.constant_(m.bn2.weight, 0) end
      end
    end
  end

  function ResNet:_make_layer(block, planes, blocks, stride)
    stride = stride or 1
    local downsample
    if stride ~= 1 or self.inplanes ~= planes * block.expansion then
      downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                 nn.BatchNorm2d(planes * block.expansion))
    end
    local list = {block(self.inplanes, planes, stride, downsample)}
    self.inplanes = planes * block.expansion
    for _ = 2, blocks do list[#list + 1] = block(self.inplanes, planes) end
    return nn.Sequential(table.unpack(list))
  end

  function ResNet:forward(x)
    x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
    x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
    x = self.avgpool(x):flatten(2)
    return self.fc(x)
  end

  models.ResNet, models.BasicBlock, models.Bottleneck = ResNet, BasicBlock, Bottleneck
  --- tg.models.resnet18({num_classes = 1000}), resnet34, resnet50
  function models.resnet18(opts) return ResNet(BasicBlock, {2, 2, 2, 2}, opts) end
  function models.resnet34(opts) return ResNet(BasicBlock, {3, 4, 6, 3}, opts) end
  function models.resnet50(opts) return ResNet(Bottleneck, {3, 4, 6, 3}, opts) end
end
