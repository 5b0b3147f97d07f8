#!/usr/bin/env python3
"""gen_nn_module_fixtures.py: reference values for tg.nn (modules, printing,
init gains, clip_grad_norm_) and the Lua-written parts of tg.F, computed with
PyTorch in float64 and written as a Lua table to spec/fixtures/nn_module.lua
(read by spec/nn_layers_spec.lua and spec/nn_module_spec.lua; specs never need Python).

  /work/venv/bin/python tools/gen_nn_module_fixtures.py

Sections:
  prints    {lua = <Lua expression building a module>, want = <PyTorch's repr>}
            (the Lua expression uses 1-based dims where PyTorch's take dims,
            and the expected text says so: Flatten(start_dim=2, ...))
  modules   a layer built in Lua by `ctor`, its state (parameters and buffers,
            PyTorch's state_dict order) set from the fixture, run on the inputs
            (train or eval mode); the outputs, the gradients of the inputs and of
            every parameter for the given grad_out, and the buffers afterwards
  functional  F.<fn>(inputs..., opts) outputs and input gradients
  gains     nn.init.calculate_gain values
  clip      clip_grad_norm_ results (total norm and clipped gradients)
Class ids and embedding ids are written 1-based for tgrad."""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261201)
DT = torch.float64


def T(t):
    t = t.detach()
    floating = t.is_floating_point()
    return {"shape": list(t.shape),
            "data": [float(v) if floating else int(v) for v in t.reshape(-1).tolist()],
            "dtype": {torch.float64: "float64", torch.float32: "float32", torch.int64: "int64",
                      torch.bool: "bool"}[t.dtype]}


# ----------------------------------------------------------------- printing
prints = []


def P(lua_expr, module, want=None):
    prints.append({"lua": lua_expr, "want": want if want is not None else repr(module)})


P('nn.Linear(4, 32)', nn.Linear(4, 32))
P('nn.Linear(4, 3, false)', nn.Linear(4, 3, False))
P('nn.Bilinear(2, 3, 4)', nn.Bilinear(2, 3, 4))
P('nn.Identity()', nn.Identity())
P('nn.Flatten()', nn.Flatten(), "Flatten(start_dim=2, end_dim=-1)")
P('nn.Unflatten(2, {2, 4})', nn.Unflatten(1, (2, 4)), "Unflatten(dim=2, unflattened_size=(2, 4))")
P('nn.Conv2d(3, 8, 3, {padding = 1, bias = false})', nn.Conv2d(3, 8, 3, padding=1, bias=False))
P('nn.Conv2d(3, 64, 7, 2, 3)', nn.Conv2d(3, 64, 7, 2, 3))
P('nn.Conv2d(4, 4, {3, 5}, {stride = {2, 1}, dilation = 2, groups = 2})',
  nn.Conv2d(4, 4, (3, 5), stride=(2, 1), dilation=2, groups=2))
P('nn.Conv1d(2, 2, 3, {padding = "same", padding_mode = "reflect"})',
  nn.Conv1d(2, 2, 3, padding='same', padding_mode='reflect'))
P('nn.Conv2d(2, 4, 3, {padding = "valid"})', nn.Conv2d(2, 4, 3, padding='valid'))
P('nn.ConvTranspose2d(4, 2, 3, {stride = 2, output_padding = 1})',
  nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1))
P('nn.ConvTranspose1d(4, 2, 3, {bias = false, padding = 1})', nn.ConvTranspose1d(4, 2, 3, bias=False, padding=1))
P('nn.MaxPool2d(2)', nn.MaxPool2d(2))
P('nn.MaxPool2d(3, {stride = 2, padding = 1, ceil_mode = true})', nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True))
P('nn.MaxPool1d(3)', nn.MaxPool1d(3))
P('nn.AvgPool1d(2)', nn.AvgPool1d(2))
P('nn.AvgPool2d(2)', nn.AvgPool2d(2))
P('nn.AvgPool2d({2, 3}, {stride = 1})', nn.AvgPool2d((2, 3), stride=1))
P('nn.AdaptiveAvgPool2d({1, 1})', nn.AdaptiveAvgPool2d((1, 1)))
P('nn.AdaptiveAvgPool2d(7)', nn.AdaptiveAvgPool2d(7))
P('nn.AdaptiveMaxPool2d(2)', nn.AdaptiveMaxPool2d(2))
P('nn.BatchNorm2d(64)', nn.BatchNorm2d(64))
P('nn.BatchNorm1d(3, {momentum = false, affine = false})', nn.BatchNorm1d(3, momentum=None, affine=False))
P('nn.BatchNorm1d(5, 0.001, 0.3, true, false)', nn.BatchNorm1d(5, 0.001, 0.3, True, False))
P('nn.LayerNorm(10)', nn.LayerNorm(10))
P('nn.LayerNorm({4, 5}, {eps = 1e-6, elementwise_affine = false})', nn.LayerNorm((4, 5), eps=1e-6, elementwise_affine=False))
P('nn.GroupNorm(2, 4)', nn.GroupNorm(2, 4))
P('nn.Dropout()', nn.Dropout())
P('nn.Dropout(0.25, true)', nn.Dropout(0.25, True))
P('nn.Dropout2d(0.2)', nn.Dropout2d(0.2))
P('nn.Embedding(10, 3, {padding_idx = 1})', nn.Embedding(10, 3, padding_idx=0), "Embedding(10, 3, padding_idx=1)")
P('nn.Embedding(5, 2, {max_norm = 1.0})', nn.Embedding(5, 2, max_norm=1.0))
P('nn.Upsample({scale_factor = 2})', nn.Upsample(scale_factor=2))
P('nn.Upsample({size = {4, 4}, mode = "bilinear"})', nn.Upsample(size=(4, 4), mode='bilinear'))
P('nn.Upsample({scale_factor = 1.5, mode = "bilinear", align_corners = true})',
  nn.Upsample(scale_factor=1.5, mode='bilinear', align_corners=True))
for name in ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
             "Softplus", "Hardtanh", "Hardswish"]:
    P(f'nn.{name}()', getattr(nn, name)())
P('nn.ReLU(true)', nn.ReLU(True))
P('nn.LeakyReLU(0.2, true)', nn.LeakyReLU(0.2, True))
P('nn.ELU({alpha = 0.5})', nn.ELU(alpha=0.5))
P('nn.GELU({approximate = "tanh"})', nn.GELU(approximate='tanh'))
P('nn.Softplus(2, 10)', nn.Softplus(2, 10))
P('nn.Hardtanh(-2.0, 2.0)', nn.Hardtanh(-2.0, 2.0))
P('nn.Softmax(2)', nn.Softmax(dim=1), "Softmax(dim=2)")
P('nn.LogSoftmax({dim = -1})', nn.LogSoftmax(dim=-1))
for name in ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
             "CrossEntropyLoss", "NLLLoss", "KLDivLoss"]:
    P(f'nn.{name}()', getattr(nn, name)())
P('nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))',
  nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
P('nn.Sequential({{"conv1", nn.Conv2d(1, 20, 5)}, {"relu1", nn.ReLU()}, {"conv2", nn.Conv2d(20, 64, 5)}})',
  nn.Sequential(__import__("collections").OrderedDict(
      [("conv1", nn.Conv2d(1, 20, 5)), ("relu1", nn.ReLU()), ("conv2", nn.Conv2d(20, 64, 5))])))
P('nn.ModuleList({nn.Linear(2, 3), nn.Linear(2, 3), nn.ReLU(), nn.Linear(2, 3)})',
  nn.ModuleList([nn.Linear(2, 3), nn.Linear(2, 3), nn.ReLU(), nn.Linear(2, 3)]))
P('nn.ModuleList()', nn.ModuleList())
P('nn.ModuleDict({{"a", nn.ReLU()}, {"b", nn.Sequential(nn.Linear(1, 1))}})',
  nn.ModuleDict({"a": nn.ReLU(), "b": nn.Sequential(nn.Linear(1, 1))}))
P('nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ModuleList({nn.ReLU(), nn.ReLU()})), nn.Identity())',
  nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ModuleList([nn.ReLU(), nn.ReLU()])), nn.Identity()))


class BasicBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.layer1 = nn.Sequential(BasicBlock(), BasicBlock())
        self.fc = nn.Linear(4, 10)


P('NESTED', Net())
P('nn.LSTM(3, 4, 2, {bidirectional = true, batch_first = true})', nn.LSTM(3, 4, 2, bidirectional=True, batch_first=True))
P('nn.GRU(3, 4, {dropout = 0.5, num_layers = 2})', nn.GRU(3, 4, dropout=0.5, num_layers=2))
P('nn.RNN(2, 3, {nonlinearity = "relu", bias = false})', nn.RNN(2, 3, nonlinearity="relu", bias=False))
P('nn.LSTMCell(3, 4)', nn.LSTMCell(3, 4))
P('nn.RNNCell(2, 3, false, "relu")', nn.RNNCell(2, 3, False, "relu"))
P('nn.GRUCell(5, 2)', nn.GRUCell(5, 2))
P('nn.MultiheadAttention(8, 2)', nn.MultiheadAttention(8, 2))
P('nn.MultiheadAttention(8, 2, {kdim = 4, vdim = 6, bias = false, batch_first = true})',
  nn.MultiheadAttention(8, 2, kdim=4, vdim=6, bias=False, batch_first=True))

# ----------------------------------------------------------------- modules
modules = []


def M(name, ctor, mod, inputs, grad_inputs=None, train=False, targets=None, tol=1e-9, needs=None):
    """inputs: float tensors (gradients recorded); targets: extra inputs without gradient"""
    mod = mod.double()
    mod.train(train)
    sd = [[k, T(v)] for k, v in mod.state_dict().items()]
    xs = [x.to(DT).clone().requires_grad_(True) if (grad_inputs is None or grad_inputs[i]) else x.to(DT).clone()
          for i, x in enumerate(inputs)]
    tg_ = [t.clone() for t in (targets or [])]
    out = mod(*xs, *tg_)

    def flat(o):
        return [e for x in o for e in flat(x)] if isinstance(o, (tuple, list)) else [o]
    outs = flat(out)
    main = outs[0]
    go = torch.randn(main.shape, dtype=DT) if main.dim() > 0 else torch.tensor(1.5, dtype=DT)
    params = [p for _, p in mod.named_parameters()]
    wrt = [x for x in xs if x.requires_grad] + params
    grads = torch.autograd.grad(main, wrt, go, allow_unused=True) if main.requires_grad else [None] * len(wrt)
    gx = list(grads[:len([x for x in xs if x.requires_grad])])
    gp = grads[len(gx):]
    lua_targets = []
    for t in tg_:
        lua_targets.append(T(t + 1) if t.dtype == torch.long else T(t))
    case = {"name": name, "ctor": ctor, "train": train, "state": sd,
            "inputs": [T(x) for x in xs], "input_grad": [bool(x.requires_grad) for x in xs],
            "targets": lua_targets,
            "outs": [T(o) for o in outs], "grad_out": T(go),
            "grad_inputs": [T(g) if g is not None else False for g in gx],
            "grad_params": [[n, T(g) if g is not None else False] for (n, _), g in zip(mod.named_parameters(), gp)],
            "buffers_after": [[k, T(v)] for k, v in mod.named_buffers()], "tol": tol}
    if needs:
        case["needs"] = needs
    modules.append(case)


def R(*s):
    return torch.randn(*s, dtype=DT)


M("Linear", "nn.Linear(5, 3)", nn.Linear(5, 3), [R(4, 5)])
M("Linear 3-D input", "nn.Linear(5, 3)", nn.Linear(5, 3), [R(2, 3, 5)])
M("Linear 1-D input", "nn.Linear(5, 3)", nn.Linear(5, 3), [R(5)])
M("Linear no bias", "nn.Linear(5, 3, {bias = false})", nn.Linear(5, 3, bias=False), [R(4, 5)])
M("Bilinear", "nn.Bilinear(3, 4, 2)", nn.Bilinear(3, 4, 2), [R(5, 3), R(5, 4)])
M("Bilinear 3-D no bias", "nn.Bilinear(3, 2, 4, false)", nn.Bilinear(3, 2, 4, False), [R(2, 3, 3), R(2, 3, 2)])
M("Identity", "nn.Identity(54, {unused = 1})", nn.Identity(54, unused=1), [R(3, 2)])
M("Flatten", "nn.Flatten()", nn.Flatten(), [R(2, 3, 4)])
M("Flatten 1..2", "nn.Flatten(1, 2)", nn.Flatten(0, 1), [R(2, 3, 4)])
M("Unflatten", "nn.Unflatten(2, {2, 3})", nn.Unflatten(1, (2, 3)), [R(4, 6)])
for name, ctor, mod in [
        ("ReLU", "nn.ReLU()", nn.ReLU()), ("ReLU6", "nn.ReLU6()", nn.ReLU6()),
        ("LeakyReLU", "nn.LeakyReLU(0.2)", nn.LeakyReLU(0.2)), ("ELU", "nn.ELU(0.7)", nn.ELU(0.7)),
        ("SELU", "nn.SELU()", nn.SELU()), ("GELU", "nn.GELU()", nn.GELU()),
        ("GELU tanh", 'nn.GELU("tanh")', nn.GELU("tanh")), ("SiLU", "nn.SiLU()", nn.SiLU()),
        ("Mish", "nn.Mish()", nn.Mish()), ("Sigmoid", "nn.Sigmoid()", nn.Sigmoid()),
        ("Tanh", "nn.Tanh()", nn.Tanh()), ("Softplus", "nn.Softplus(2, 1)", nn.Softplus(2, 1)),
        ("Hardtanh", "nn.Hardtanh(-0.5, 1.5)", nn.Hardtanh(-0.5, 1.5)), ("Hardswish", "nn.Hardswish()", nn.Hardswish()),
        ("Hardsigmoid", "nn.Hardsigmoid()", nn.Hardsigmoid()), ("CELU", "nn.CELU(1.3)", nn.CELU(1.3)),
        ("LogSigmoid", "nn.LogSigmoid()", nn.LogSigmoid()), ("Softsign", "nn.Softsign()", nn.Softsign()),
        ("Tanhshrink", "nn.Tanhshrink()", nn.Tanhshrink()),
        ("Softmax", "nn.Softmax(2)", nn.Softmax(1)), ("LogSoftmax", "nn.LogSoftmax(1)", nn.LogSoftmax(0)),
        ("Softmin", "nn.Softmin(-1)", nn.Softmin(-1))]:
    x = R(3, 7) * 3
    # PyTorch's hardsigmoid and celu kernels use float32 constants (1.0f / 6.0f ...) in float64 too
    M(name, ctor, mod, [x], tol=1e-6 if name in ("Hardsigmoid", "CELU") else 1e-9)
# losses: input (grad), target
M("MSELoss", "nn.MSELoss()", nn.MSELoss(), [R(3, 4)], targets=[R(3, 4)])
M("L1Loss sum", 'nn.L1Loss({reduction = "sum"})', nn.L1Loss(reduction="sum"), [R(3, 4)], targets=[R(3, 4)])
M("SmoothL1Loss", "nn.SmoothL1Loss({beta = 0.5})", nn.SmoothL1Loss(beta=0.5), [R(3, 4)], targets=[R(3, 4)])
M("HuberLoss none", 'nn.HuberLoss({reduction = "none", delta = 0.7})', nn.HuberLoss(reduction="none", delta=0.7),
  [R(3, 4)], targets=[R(3, 4)])
M("BCELoss", "nn.BCELoss()", nn.BCELoss(), [torch.rand(3, 4, dtype=DT) * 0.9 + 0.05], targets=[torch.rand(3, 4, dtype=DT)])
M("BCEWithLogitsLoss pos_weight", "nn.BCEWithLogitsLoss({pos_weight = tg.tensor({1.0, 2.0, 0.5, 3.0}, {dtype = tg.float64})})",
  nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=DT)), [R(3, 4)],
  targets=[torch.rand(3, 4, dtype=DT)])
M("CrossEntropyLoss", "nn.CrossEntropyLoss()", nn.CrossEntropyLoss(), [R(5, 4)], targets=[torch.randint(0, 4, (5,))])
M("CrossEntropyLoss smoothing weight",
  "nn.CrossEntropyLoss({weight = tg.tensor({1.0, 0.5, 2.0, 1.5}, {dtype = tg.float64}), label_smoothing = 0.1})",
  nn.CrossEntropyLoss(weight=torch.tensor([1.0, 0.5, 2.0, 1.5], dtype=DT), label_smoothing=0.1), [R(5, 4)],
  targets=[torch.randint(0, 4, (5,))])
M("NLLLoss", "nn.NLLLoss()", nn.NLLLoss(), [F.log_softmax(R(5, 4), 1)], targets=[torch.randint(0, 4, (5,))])
M("KLDivLoss batchmean", 'nn.KLDivLoss({reduction = "batchmean"})', nn.KLDivLoss(reduction="batchmean"),
  [F.log_softmax(R(3, 4), 1)], targets=[F.softmax(R(3, 4), 1)])
# containers
M("Sequential", "nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))",
  nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)), [R(3, 4)])
M("Sequential named", 'nn.Sequential({{"fc1", nn.Linear(4, 6)}, {"act", nn.ReLU()}, {"fc2", nn.Linear(6, 2)}})',
  nn.Sequential(__import__("collections").OrderedDict([("fc1", nn.Linear(4, 6)), ("act", nn.ReLU()),
                                                      ("fc2", nn.Linear(6, 2))])), [R(3, 4)])
# layers over the other helpers' C kernels (skipped until tg.F has them)
M("Conv2d", "nn.Conv2d(3, 4, 3, {padding = 1})", nn.Conv2d(3, 4, 3, padding=1), [R(2, 3, 5, 5)], needs="conv2d")
M("Conv2d stride groups no bias", "nn.Conv2d(4, 6, {3, 2}, {stride = 2, groups = 2, bias = false})",
  nn.Conv2d(4, 6, (3, 2), stride=2, groups=2, bias=False), [R(2, 4, 7, 6)], needs="conv2d")
M("Conv2d dilation same", 'nn.Conv2d(2, 3, 3, {padding = "same", dilation = 2})',
  nn.Conv2d(2, 3, 3, padding="same", dilation=2), [R(1, 2, 6, 7)], needs="conv2d")
M("Conv2d reflect", 'nn.Conv2d(2, 3, 3, {padding = 1, padding_mode = "reflect"})',
  nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), [R(2, 2, 5, 4)], needs="conv2d pad")
M("Conv2d circular", 'nn.Conv2d(2, 3, 3, {padding = {1, 2}, padding_mode = "circular"})',
  nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="circular"), [R(2, 2, 5, 4)], needs="conv2d pad")
M("Conv2d replicate same", 'nn.Conv2d(2, 3, 4, {padding = "same", padding_mode = "replicate"})',
  nn.Conv2d(2, 3, 4, padding="same", padding_mode="replicate"), [R(1, 2, 5, 6)], needs="conv2d pad")
M("Conv1d", "nn.Conv1d(3, 4, 3, {stride = 2, padding = 1})", nn.Conv1d(3, 4, 3, stride=2, padding=1), [R(2, 3, 9)],
  needs="conv1d")
M("Conv1d unbatched", "nn.Conv1d(3, 2, 2)", nn.Conv1d(3, 2, 2), [R(3, 6)], needs="conv1d")
M("ConvTranspose2d", "nn.ConvTranspose2d(3, 2, 3, {stride = 2, padding = 1, output_padding = 1})",
  nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), [R(2, 3, 4, 4)], needs="conv_transpose2d")
M("ConvTranspose2d groups", "nn.ConvTranspose2d(4, 4, 2, {groups = 2, bias = false})",
  nn.ConvTranspose2d(4, 4, 2, groups=2, bias=False), [R(1, 4, 3, 3)], needs="conv_transpose2d")
M("ConvTranspose1d", "nn.ConvTranspose1d(3, 2, 3, {stride = 2})", nn.ConvTranspose1d(3, 2, 3, stride=2),
  [R(2, 3, 5)], needs="conv_transpose1d")
M("MaxPool2d", "nn.MaxPool2d(2)", nn.MaxPool2d(2), [R(2, 3, 6, 5)], needs="max_pool2d")
M("MaxPool2d stride pad ceil", "nn.MaxPool2d(3, {stride = 2, padding = 1, ceil_mode = true})",
  nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), [R(1, 2, 7, 6)], needs="max_pool2d")
M("MaxPool1d", "nn.MaxPool1d(3, 2)", nn.MaxPool1d(3, 2), [R(2, 3, 9)], needs="max_pool1d")
M("AvgPool2d", "nn.AvgPool2d(2)", nn.AvgPool2d(2), [R(2, 3, 6, 5)], needs="avg_pool2d")
M("AvgPool2d pad exclude", "nn.AvgPool2d(3, {stride = 2, padding = 1, count_include_pad = false})",
  nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [R(1, 2, 7, 6)], needs="avg_pool2d")
M("AvgPool1d", "nn.AvgPool1d(2)", nn.AvgPool1d(2), [R(2, 3, 7)], needs="avg_pool1d")
M("AdaptiveAvgPool2d", "nn.AdaptiveAvgPool2d({1, 1})", nn.AdaptiveAvgPool2d((1, 1)), [R(2, 3, 5, 4)],
  needs="adaptive_avg_pool2d")
M("AdaptiveAvgPool2d 3x2", "nn.AdaptiveAvgPool2d({3, 2})", nn.AdaptiveAvgPool2d((3, 2)), [R(2, 3, 7, 5)],
  needs="adaptive_avg_pool2d")
M("AdaptiveMaxPool2d", "nn.AdaptiveMaxPool2d(2)", nn.AdaptiveMaxPool2d(2), [R(2, 3, 5, 4)],
  needs="adaptive_max_pool2d")
M("Upsample nearest", "nn.Upsample({scale_factor = 2})", nn.Upsample(scale_factor=2), [R(1, 2, 3, 3)],
  needs="interpolate")
M("Upsample bilinear", 'nn.Upsample({size = {5, 4}, mode = "bilinear"})', nn.Upsample(size=(5, 4), mode="bilinear"),
  [R(2, 2, 3, 3)], needs="interpolate")
M("Upsample bilinear align", 'nn.Upsample({scale_factor = 2, mode = "bilinear", align_corners = true})',
  nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), [R(1, 2, 3, 2)], needs="interpolate")
bn = nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(torch.rand(3) + 0.5)
    bn.bias.copy_(torch.randn(3))
M("BatchNorm2d train", "nn.BatchNorm2d(3)", bn, [R(4, 3, 3, 2) * 2 + 1], train=True, needs="batch_norm")
bn = nn.BatchNorm2d(3)
with torch.no_grad():
    bn.running_mean.copy_(torch.randn(3))
    bn.running_var.copy_(torch.rand(3) + 0.5)
    bn.weight.copy_(torch.rand(3) + 0.5)
M("BatchNorm2d eval", "nn.BatchNorm2d(3)", bn, [R(2, 3, 3, 2)], train=False, needs="batch_norm")
M("BatchNorm1d momentum None", "nn.BatchNorm1d(4, {momentum = false})", nn.BatchNorm1d(4, momentum=None),
  [R(6, 4)], train=True, needs="batch_norm")
M("BatchNorm1d 3-D no affine", "nn.BatchNorm1d(3, {affine = false, momentum = 0.3})",
  nn.BatchNorm1d(3, affine=False, momentum=0.3), [R(2, 3, 5)], train=True, needs="batch_norm")
M("BatchNorm1d no running stats", "nn.BatchNorm1d(3, {track_running_stats = false})",
  nn.BatchNorm1d(3, track_running_stats=False), [R(5, 3)], train=False, needs="batch_norm")
ln = nn.LayerNorm((3, 4))
with torch.no_grad():
    ln.weight.copy_(torch.rand(3, 4) + 0.5)
    ln.bias.copy_(torch.randn(3, 4))
M("LayerNorm", "nn.LayerNorm({3, 4})", ln, [R(2, 3, 4)], needs="layer_norm")
M("LayerNorm no affine", "nn.LayerNorm(5, {elementwise_affine = false, eps = 1e-3})",
  nn.LayerNorm(5, elementwise_affine=False, eps=1e-3), [R(3, 5)], needs="layer_norm")
gn = nn.GroupNorm(2, 4)
with torch.no_grad():
    gn.weight.copy_(torch.rand(4) + 0.5)
    gn.bias.copy_(torch.randn(4))
M("GroupNorm", "nn.GroupNorm(2, 4)", gn, [R(3, 4, 3, 2)], needs="group_norm")
emb_ids = torch.tensor([[1, 2, 0], [4, 3, 1]])
M("Embedding", "nn.Embedding(5, 3)", nn.Embedding(5, 3), [], targets=[emb_ids], needs="embedding")
M("Embedding padding_idx", "nn.Embedding(5, 3, {padding_idx = 2})", nn.Embedding(5, 3, padding_idx=1), [],
  targets=[emb_ids], needs="embedding")
M("Dropout eval", "nn.Dropout(0.4)", nn.Dropout(0.4), [R(3, 4)], train=False)
M("Dropout p=0 train", "nn.Dropout(0)", nn.Dropout(0.0), [R(3, 4)], train=True)


M("RNN tanh", "nn.RNN(3, 4)", nn.RNN(3, 4), [R(5, 2, 3)])
M("RNN relu 2 layers with h0", 'nn.RNN(3, 4, 2, "relu")', nn.RNN(3, 4, 2, "relu"), [R(4, 2, 3), R(2, 2, 4)])
M("RNN unbatched bidirectional", "nn.RNN(3, 2, {bidirectional = true})", nn.RNN(3, 2, bidirectional=True),
  [R(4, 3)])
M("LSTM", "nn.LSTM(3, 4)", nn.LSTM(3, 4), [R(5, 2, 3)])
M("LSTM 2 layers bidirectional batch_first", "nn.LSTM(3, 4, 2, {bidirectional = true, batch_first = true})",
  nn.LSTM(3, 4, 2, bidirectional=True, batch_first=True), [R(2, 5, 3)])
M("LSTM no bias", "nn.LSTM(2, 3, {bias = false})", nn.LSTM(2, 3, bias=False), [R(3, 1, 2)])
M("GRU", "nn.GRU(3, 4)", nn.GRU(3, 4), [R(5, 2, 3), R(1, 2, 4)])
M("GRU 2 layers bidirectional", "nn.GRU(3, 2, 2, {bidirectional = true})", nn.GRU(3, 2, 2, bidirectional=True),
  [R(4, 3, 3)])
M("RNNCell", "nn.RNNCell(3, 4)", nn.RNNCell(3, 4), [R(2, 3), R(2, 4)])
M("GRUCell unbatched", "nn.GRUCell(3, 4)", nn.GRUCell(3, 4), [R(3), R(4)])
M("LSTMCell", "nn.LSTMCell(3, 4)", nn.LSTMCell(3, 4), [R(2, 3)])


class LSTMWrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, 2)

    def forward(self, x, h0, c0):
        return self.lstm(x, (h0, c0))


M("LSTM with (h0, c0)", "LSTMWRAP", LSTMWrap(), [R(4, 2, 3), R(2, 2, 4), R(2, 2, 4)])


M("MultiheadAttention self", "nn.MultiheadAttention(8, 2)", nn.MultiheadAttention(8, 2), [R(3, 2, 8), R(3, 2, 8), R(3, 2, 8)])
M("MultiheadAttention kdim vdim batch_first",
  "nn.MultiheadAttention(6, 3, {kdim = 4, vdim = 5, batch_first = true})",
  nn.MultiheadAttention(6, 3, kdim=4, vdim=5, batch_first=True), [R(2, 3, 6), R(2, 4, 4), R(2, 4, 5)])
M("MultiheadAttention unbatched no bias", "nn.MultiheadAttention(4, 1, {bias = false})",
  nn.MultiheadAttention(4, 1, bias=False), [R(3, 4), R(5, 4), R(5, 4)])


class MHAMasked(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2)

    def forward(self, q, k, v):
        causal = torch.triu(torch.ones(3, 3), 1) > 0
        kpm = torch.tensor([[False, False, True], [False, False, False]])
        return self.mha(q, k, v, attn_mask=causal, key_padding_mask=kpm, average_attn_weights=False)


M("MultiheadAttention masks", "MHAMASKED", MHAMasked(), [R(3, 2, 8), R(3, 2, 8), R(3, 2, 8)])


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(x.flatten(1))


M("small CNN train", "SMALLCNN", SmallCNN(), [R(2, 1, 6, 6)], train=True, needs="conv2d batch_norm max_pool2d")

# ----------------------------------------------------------------- functional
functional = []


def Fn(name, fn, call, inputs, opts_lua=None, lua_fn=None, tol=1e-9):
    xs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = call(*xs)
    go = torch.randn(out.shape, dtype=DT) if out.dim() > 0 else torch.tensor(1.25, dtype=DT)
    wrt = [x for x in xs if x.requires_grad]
    grads = torch.autograd.grad(out, wrt, go, allow_unused=True) if out.requires_grad else [None] * len(wrt)
    ins = [T(x + 1) if x.dtype == torch.long else T(x) for x in xs]   # ids 1-based for tgrad
    functional.append({"name": name, "fn": lua_fn or fn, "inputs": ins, "opts": opts_lua,
                       "out": T(out), "grad_out": T(go),
                       "grads": [T(g) if g is not None else False for g in grads],
                       "grad_fn": type(out.grad_fn).__name__ if out.grad_fn is not None else False, "tol": tol})


Fn("linear 2-D", "linear", F.linear, [R(4, 3), R(5, 3), R(5)])
Fn("linear 2-D no bias", "linear", F.linear, [R(4, 3), R(5, 3)])
Fn("linear 4-D", "linear", F.linear, [R(2, 2, 3, 3), R(4, 3), R(4)])
Fn("linear 1-D weight", "linear", F.linear, [R(4, 3), R(3)])
Fn("bilinear", "bilinear", F.bilinear, [R(3, 2), R(3, 4), R(5, 2, 4), R(5)])
Fn("normalize default", "normalize", F.normalize, [R(3, 4)])
Fn("normalize p=1 dim=1", "normalize", lambda x: F.normalize(x, p=1, dim=0), [R(3, 4)], {"p": 1, "dim": 1})
Fn("normalize zero row", "normalize", lambda x: F.normalize(x, dim=1),
   [torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=DT)], {"dim": 2})
Fn("cosine_similarity", "cosine_similarity", F.cosine_similarity, [R(4, 5), R(4, 5)])
Fn("cosine_similarity dim 1 broadcast", "cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=0),
   [R(3, 4), R(3, 1)], {"dim": 1})
Fn("one_hot", "one_hot", lambda t: F.one_hot(t, 5), [torch.tensor([[0, 2], [4, 1]])], {"num_classes": 5})
for fn, kw, lua_kw in [("elu", {"alpha": 0.5}, {"alpha": 0.5}), ("selu", {}, None), ("celu", {"alpha": 2.0}, {"alpha": 2.0}),
                       ("leaky_relu", {"negative_slope": 0.1}, {"negative_slope": 0.1}),
                       ("hardtanh", {"min_val": -2.0, "max_val": 0.5}, {"min_val": -2.0, "max_val": 0.5}),
                       ("relu6", {}, None), ("hardswish", {}, None), ("hardsigmoid", {}, None),
                       ("logsigmoid", {}, None), ("mish", {}, None), ("softsign", {}, None),
                       ("tanhshrink", {}, None)]:
    x = R(4, 5) * 4
    Fn(fn, fn, (lambda f, k: (lambda x: getattr(F, f)(x, **k)))(fn, kw), [x], lua_kw,
       tol=1e-6 if fn in ("hardsigmoid", "celu") else 1e-9)
Fn("softmin", "softmin", lambda x: F.softmin(x, dim=1), [R(3, 4)], {"dim": 2})

# ----------------------------------------------------------------- gains and clipping
gains = []
for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]:
    g = nn.init.calculate_gain(nl, param)
    gains.append({"nonlinearity": nl, "param": param if param is not None else False, "gain": float(g)})

clip = []
for max_norm, norm_type in [(1.0, 2.0), (0.5, 1.0), (100.0, 2.0), (0.3, "inf"), (2.0, 3.0)]:
    grads = [R(3, 4), R(5), R(2, 2, 2)]
    ps = [torch.zeros_like(g).requires_grad_(True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = g.clone()
    nt = float("inf") if norm_type == "inf" else norm_type
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type=nt)
    clip.append({"max_norm": max_norm, "norm_type": norm_type, "grads": [T(g) for g in grads],
                 "total": float(total), "clipped": [T(p.grad) for p in ps]})

# ----------------------------------------------------------------- output
def lua(v):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(e) for e in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(e)}" for k, e in v.items() if e is not None) + "}"
    raise TypeError(type(v))


here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "spec", "fixtures", "nn_module.lua")
with open(path, "w") as f:
    f.write("-- generated by tools/gen_nn_module_fixtures.py with PyTorch %s: do not edit\n" % torch.__version__)
    f.write("return {\n")
    for key, items in [("prints", prints), ("modules", modules), ("functional", functional), ("gains", gains),
                       ("clip", clip)]:
        f.write("  %s = {\n" % key)
        for c in items:
            f.write("    " + lua(c) + ",\n")
        f.write("  },\n")
    f.write("}\n")
print("wrote %d prints, %d modules, %d functional, %d gains, %d clip cases to %s"
      % (len(prints), len(modules), len(functional), len(gains), len(clip), os.path.normpath(path)))
