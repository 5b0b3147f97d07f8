#!/usr/bin/env python3
"""gen_nn_audit_fixtures.py: reference numbers for spec/nn_audit_spec.lua (the
audit of issue 8 against PyTorch), written to spec/fixtures/nn_audit.lua.

  /work/venv/bin/python tools/gen_nn_audit_fixtures.py

modules: a layer built in PyTorch and in tgrad (the Lua constructor is given
as text), float64, the PyTorch state_dict copied into the tgrad module, one or
two inputs, the output, a grad_output, the inputs' gradients, the parameters'
gradients and the buffers after the forward (batch norm running stats).
Class ids / dims / indices are written 1-based for tgrad where they appear.
prints: PyTorch's print string of a model, with its tgrad constructor.
functional: F.pad / interpolate / one_hot / normalize / cosine_similarity.
train: a small CNN trained 3 SGD steps (momentum, weight decay) in PyTorch."""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(8)
DT = torch.float64


def T(t):
    t = t.detach()
    return {"shape": list(t.shape),
            "data": [float(v) if t.is_floating_point() else int(v) for v in t.reshape(-1).tolist()],
            "dtype": "float64" if t.is_floating_point() else ("bool" if t.dtype == torch.bool else "int64")}


modules = []


def mod(name, lua, m, inputs, train=True, grad=True, int_input=False, lua_inputs=None):
    m = m.to(DT)
    m.train(train)
    # deterministic non-trivial parameters
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, dtype=DT) * 0.5)
    state = {k: T(v) for k, v in m.state_dict().items()}
    order = list(m.state_dict().keys())
    xs = []
    for x in inputs:
        if x.is_floating_point():
            x = x.to(DT).requires_grad_(grad)
        xs.append(x)
    out = m(*xs)
    go = torch.randn(out.shape, dtype=DT)
    case = {"name": name, "lua": lua, "train": train, "state": state, "order": order,
            "inputs": [T(x) for x in (lua_inputs or xs)], "out": T(out), "grad_out": T(go)}
    if grad:
        ins = [x for x in xs if x.is_floating_point()] + list(m.parameters())
        gs = torch.autograd.grad(out, ins, go, allow_unused=True)
        nx = len([x for x in xs if x.is_floating_point()])
        case["grad_inputs"] = [T(g) for g in gs[:nx]]
        case["grad_params"] = {n: T(g) for (n, _), g in zip(m.named_parameters(), gs[nx:]) if g is not None}
    case["buffers"] = {k: T(v) for k, v in m.named_buffers()}
    if out.grad_fn is not None:
        case["grad_fn"] = type(out.grad_fn).__name__
    modules.append(case)


r = lambda *s: torch.randn(*s, dtype=DT)

mod("Linear", "tg.nn.Linear(4, 3)", nn.Linear(4, 3), [r(5, 4)])
mod("Linear 3-D input", "tg.nn.Linear(4, 3)", nn.Linear(4, 3), [r(2, 5, 4)])
mod("Linear no bias", "tg.nn.Linear(4, 3, {bias = false})", nn.Linear(4, 3, bias=False), [r(5, 4)])
mod("Bilinear", "tg.nn.Bilinear(3, 2, 4)", nn.Bilinear(3, 2, 4), [r(5, 3), r(5, 2)])
mod("Conv1d stride padding dilation", "tg.nn.Conv1d(2, 3, 3, {stride = 2, padding = 2, dilation = 2})",
    nn.Conv1d(2, 3, 3, stride=2, padding=2, dilation=2), [r(2, 2, 9)])
mod("Conv2d groups no bias", "tg.nn.Conv2d(4, 6, 3, {padding = 1, groups = 2, bias = false})",
    nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=False), [r(2, 4, 5, 6)])
mod("Conv2d rectangular kernel/stride", "tg.nn.Conv2d(3, 2, {3, 2}, {stride = {2, 1}, padding = {1, 0}})",
    nn.Conv2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 0)), [r(1, 3, 7, 5)])
mod("Conv2d padding same dilation 2", "tg.nn.Conv2d(2, 3, 3, {padding = 'same', dilation = 2})",
    nn.Conv2d(2, 3, 3, padding='same', dilation=2), [r(1, 2, 6, 7)])
mod("Conv2d padding same even kernel", "tg.nn.Conv2d(2, 3, 4, {padding = 'same'})",
    nn.Conv2d(2, 3, 4, padding='same'), [r(1, 2, 6, 7)])
mod("Conv1d padding valid", "tg.nn.Conv1d(2, 3, 3, {padding = 'valid'})",
    nn.Conv1d(2, 3, 3, padding='valid'), [r(2, 2, 6)])
for pm in ["reflect", "replicate", "circular"]:
    mod("Conv2d padding_mode " + pm, "tg.nn.Conv2d(2, 3, 3, {padding = {1, 2}, padding_mode = '%s'})" % pm,
        nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=pm), [r(2, 2, 5, 6)])
    mod("Conv1d padding_mode " + pm, "tg.nn.Conv1d(2, 3, 3, {padding = 2, padding_mode = '%s', stride = 2})" % pm,
        nn.Conv1d(2, 3, 3, padding=2, padding_mode=pm, stride=2), [r(2, 2, 7)])
mod("Conv2d padding_mode reflect same", "tg.nn.Conv2d(2, 3, 3, {padding = 'same', padding_mode = 'reflect'})",
    nn.Conv2d(2, 3, 3, padding='same', padding_mode='reflect'), [r(1, 2, 5, 6)])
mod("Conv2d padding same even kernel circular", "tg.nn.Conv2d(1, 2, 4, {padding = 'same', padding_mode = 'circular'})",
    nn.Conv2d(1, 2, 4, padding='same', padding_mode='circular'), [r(1, 1, 5, 6)])
mod("Conv1d padding same dilation 3 replicate", "tg.nn.Conv1d(1, 2, 3, {padding = 'same', dilation = 3, padding_mode = 'replicate'})",
    nn.Conv1d(1, 2, 3, padding='same', dilation=3, padding_mode='replicate'), [r(2, 1, 7)])
mod("ConvTranspose1d output_padding", "tg.nn.ConvTranspose1d(2, 3, 3, {stride = 2, padding = 1, output_padding = 1})",
    nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1), [r(2, 2, 5)])
mod("ConvTranspose2d groups dilation", "tg.nn.ConvTranspose2d(4, 2, 3, {stride = 2, groups = 2, dilation = 2})",
    nn.ConvTranspose2d(4, 2, 3, stride=2, groups=2, dilation=2), [r(1, 4, 3, 4)])
mod("Conv2d unbatched 3-D input", "tg.nn.Conv2d(2, 3, 3)", nn.Conv2d(2, 3, 3), [r(2, 5, 5)])
mod("MaxPool1d ceil padding", "tg.nn.MaxPool1d(3, {stride = 2, padding = 1, ceil_mode = true})",
    nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), [r(2, 3, 8)])
mod("MaxPool2d dilation ceil", "tg.nn.MaxPool2d(2, {stride = 2, dilation = 2, ceil_mode = true})",
    nn.MaxPool2d(2, stride=2, dilation=2, ceil_mode=True), [r(1, 2, 7, 6)])
mod("MaxPool2d positional", "tg.nn.MaxPool2d(3, 2, 1)", nn.MaxPool2d(3, 2, 1), [r(2, 2, 7, 7)])
mod("AvgPool1d count_include_pad false ceil", "tg.nn.AvgPool1d(3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false})",
    nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [r(2, 3, 8)])
mod("AvgPool2d padding include pad", "tg.nn.AvgPool2d(3, {stride = 2, padding = 1})",
    nn.AvgPool2d(3, stride=2, padding=1), [r(1, 2, 7, 6)])
mod("AvgPool2d divisor_override", "tg.nn.AvgPool2d(2, {divisor_override = 3})",
    nn.AvgPool2d(2, divisor_override=3), [r(1, 2, 4, 6)])
mod("AdaptiveAvgPool2d (3,2)", "tg.nn.AdaptiveAvgPool2d({3, 2})", nn.AdaptiveAvgPool2d((3, 2)), [r(2, 2, 7, 5)])
mod("AdaptiveAvgPool2d 1", "tg.nn.AdaptiveAvgPool2d(1)", nn.AdaptiveAvgPool2d(1), [r(2, 3, 4, 5)])
mod("AdaptiveMaxPool2d (2,3)", "tg.nn.AdaptiveMaxPool2d({2, 3})", nn.AdaptiveMaxPool2d((2, 3)), [r(2, 2, 5, 7)])
mod("BatchNorm1d train 2-D", "tg.nn.BatchNorm1d(3)", nn.BatchNorm1d(3), [r(4, 3)])
mod("BatchNorm1d train 3-D", "tg.nn.BatchNorm1d(3, {momentum = 0.3})", nn.BatchNorm1d(3, momentum=0.3), [r(4, 3, 5)])
mod("BatchNorm2d momentum None", "tg.nn.BatchNorm2d(3, {momentum = false})", nn.BatchNorm2d(3, momentum=None), [r(2, 3, 4, 5)])
mod("BatchNorm2d eval", "tg.nn.BatchNorm2d(3)", nn.BatchNorm2d(3), [r(2, 3, 4, 5)], train=False)
mod("BatchNorm2d no affine no stats", "tg.nn.BatchNorm2d(3, {affine = false, track_running_stats = false})",
    nn.BatchNorm2d(3, affine=False, track_running_stats=False), [r(2, 3, 2, 3)])
mod("BatchNorm2d no stats eval", "tg.nn.BatchNorm2d(3, {track_running_stats = false})",
    nn.BatchNorm2d(3, track_running_stats=False), [r(2, 3, 2, 3)], train=False)
mod("LayerNorm (3,4)", "tg.nn.LayerNorm({3, 4})", nn.LayerNorm([3, 4]), [r(2, 3, 4)])
mod("LayerNorm no bias eps", "tg.nn.LayerNorm(4, {eps = 1e-3, bias = false})", nn.LayerNorm(4, eps=1e-3, bias=False), [r(2, 3, 4)])
mod("GroupNorm", "tg.nn.GroupNorm(2, 4)", nn.GroupNorm(2, 4), [r(3, 4, 5)])
mod("GroupNorm 4-D no affine", "tg.nn.GroupNorm(3, 6, {affine = false})", nn.GroupNorm(3, 6, affine=False), [r(2, 6, 2, 3)])
ids = torch.tensor([[1, 0, 3], [9, 3, 0]])
mod("Embedding padding_idx", "tg.nn.Embedding(10, 3, {padding_idx = 1})", nn.Embedding(10, 3, padding_idx=0),
    [ids], lua_inputs=[ids + 1])
ids2 = torch.tensor([[1, 1, 3], [2, 3, 1]])
mod("Embedding scale_grad_by_freq", "tg.nn.Embedding(5, 3, {scale_grad_by_freq = true})",
    nn.Embedding(5, 3, scale_grad_by_freq=True), [ids2], lua_inputs=[ids2 + 1])
mod("Embedding max_norm", "tg.nn.Embedding(5, 3, {max_norm = 0.5, norm_type = 1.5})",
    nn.Embedding(5, 3, max_norm=0.5, norm_type=1.5), [ids2], lua_inputs=[ids2 + 1])
mod("Upsample nearest", "tg.nn.Upsample({scale_factor = 2})", nn.Upsample(scale_factor=2), [r(1, 2, 2, 3)])
mod("Upsample nearest size", "tg.nn.Upsample({size = {5, 4}})", nn.Upsample(size=(5, 4)), [r(1, 2, 2, 3)])
mod("Upsample bilinear", "tg.nn.Upsample({scale_factor = 2, mode = 'bilinear'})",
    nn.Upsample(scale_factor=2, mode='bilinear'), [r(1, 2, 3, 3)])
mod("Upsample bilinear align_corners", "tg.nn.Upsample({size = {5, 7}, mode = 'bilinear', align_corners = true})",
    nn.Upsample(size=(5, 7), mode='bilinear', align_corners=True), [r(1, 2, 3, 4)])
mod("Upsample bilinear fractional", "tg.nn.Upsample({scale_factor = 1.5, mode = 'bilinear'})",
    nn.Upsample(scale_factor=1.5, mode='bilinear'), [r(1, 1, 4, 3)])
mod("Flatten", "tg.nn.Flatten()", nn.Flatten(), [r(2, 3, 2, 2)])
mod("Flatten 2..3", "tg.nn.Flatten(2, 3)", nn.Flatten(1, 2), [r(2, 3, 2, 2)])
mod("Unflatten", "tg.nn.Unflatten(2, {2, 3})", nn.Unflatten(1, (2, 3)), [r(4, 6)])
mod("Identity", "tg.nn.Identity()", nn.Identity(), [r(3, 2)])
x_act = r(4, 5) * 3
for lua, m in [("ReLU()", nn.ReLU()), ("ReLU6()", nn.ReLU6()), ("LeakyReLU(0.2)", nn.LeakyReLU(0.2)),
               ("ELU(0.5)", nn.ELU(0.5)), ("SELU()", nn.SELU()), ("GELU()", nn.GELU()),
               ("GELU('tanh')", nn.GELU('tanh')), ("SiLU()", nn.SiLU()), ("Mish()", nn.Mish()),
               ("Sigmoid()", nn.Sigmoid()), ("Tanh()", nn.Tanh()), ("Softplus(2, 1)", nn.Softplus(2, 1)),
               ("Hardtanh(-2, 1.5)", nn.Hardtanh(-2, 1.5)), ("Hardswish()", nn.Hardswish()),
               ("Softmax(2)", nn.Softmax(1)), ("Softmax(1)", nn.Softmax(0)), ("LogSoftmax(2)", nn.LogSoftmax(1))]:
    mod(lua, "tg.nn." + lua, m, [x_act])
# losses as modules
inp, tgt = r(4, 5), r(4, 5)
for lua, m in [("MSELoss()", nn.MSELoss()), ("L1Loss({reduction = 'sum'})", nn.L1Loss(reduction='sum')),
               ("SmoothL1Loss({beta = 0.5})", nn.SmoothL1Loss(beta=0.5)),
               ("HuberLoss({delta = 0.7, reduction = 'none'})", nn.HuberLoss(delta=0.7, reduction='none'))]:
    mod(lua, "tg.nn." + lua, m, [inp * 2, tgt])
p = torch.rand(4, 5, dtype=DT) * 0.9 + 0.05
y01 = (torch.rand(4, 5, dtype=DT) > 0.5).to(DT)
mod("BCELoss()", "tg.nn.BCELoss()", nn.BCELoss(), [p, y01])
mod("BCEWithLogitsLoss pos_weight", "tg.nn.BCEWithLogitsLoss({pos_weight = tg.tensor({1.0, 2.0, 0.5, 1.5, 3.0}, {dtype = tg.float64})})",
    nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=DT)), [inp * 2, y01])
cls = torch.tensor([0, 4, 2, 1])
mod("CrossEntropyLoss label_smoothing", "tg.nn.CrossEntropyLoss({label_smoothing = 0.1})",
    nn.CrossEntropyLoss(label_smoothing=0.1), [inp, cls], lua_inputs=[inp, cls + 1])
cls_ign = torch.tensor([0, -100, 2, 1])
mod("CrossEntropyLoss weight ignore", "tg.nn.CrossEntropyLoss({weight = tg.tensor({1.0, 2.0, 0.5, 1.5, 3.0}, {dtype = tg.float64})})",
    nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=DT)), [inp, cls_ign],
    lua_inputs=[inp, torch.where(cls_ign == -100, cls_ign, cls_ign + 1)])
mod("NLLLoss sum", "tg.nn.NLLLoss({reduction = 'sum'})", nn.NLLLoss(reduction='sum'),
    [F.log_softmax(inp, 1), cls], lua_inputs=[F.log_softmax(inp, 1), cls + 1])
mod("KLDivLoss batchmean", "tg.nn.KLDivLoss({reduction = 'batchmean'})", nn.KLDivLoss(reduction='batchmean'),
    [F.log_softmax(inp, 1), F.softmax(tgt, 1)])
mod("KLDivLoss log_target", "tg.nn.KLDivLoss({reduction = 'sum', log_target = true})",
    nn.KLDivLoss(reduction='sum', log_target=True), [F.log_softmax(inp, 1), F.log_softmax(tgt, 1)])

# ------------------------------------------------------------------ prints
prints = []


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(2), nn.Dropout(0.25))
        self.heads = nn.ModuleList([nn.Linear(8, 4), nn.Linear(8, 2, bias=False)])
        self.extra = nn.ModuleDict({"emb": nn.Embedding(10, 3, padding_idx=0), "ln": nn.LayerNorm(3)})
        self.act = nn.LeakyReLU(0.2)


net = Net()
prints.append({"name": "nested Net", "expected": str(net), "names": [n for n, _ in net.named_parameters()],
               "buffers": [n for n, _ in net.named_buffers()], "state": list(net.state_dict().keys()),
               "modules": [n for n, _ in net.named_modules()]})
from collections import OrderedDict
seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3, stride=2, padding=1, dilation=2, groups=1,
                                                    padding_mode="reflect")),
                                 ("pool", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
                                 ("apool", nn.AdaptiveAvgPool2d((1, 1))), ("amax", nn.AdaptiveMaxPool2d(2)),
                                 ("ct", nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1)),
                                 ("bn", nn.BatchNorm1d(4, momentum=None, affine=False)),
                                 ("gn", nn.GroupNorm(2, 4, eps=1e-3)),
                                 ("up", nn.Upsample(scale_factor=2, mode="bilinear")),
                                 ("mp1", nn.MaxPool1d(3, stride=2, padding=1)),
                                 ("ap1", nn.AvgPool1d(3)),
                                 ("c1", nn.Conv1d(2, 4, 5, padding="same")),
                                 ("d2", nn.Dropout2d()),
                                 ("bil", nn.Bilinear(2, 3, 4, bias=False)),
                                 ("elu", nn.ELU(0.5)), ("gelu", nn.GELU("tanh")), ("sp", nn.Softplus(2, 10)),
                                 ("ht", nn.Hardtanh(-2.0, 2.0)), ("r6", nn.ReLU6()), ("hs", nn.Hardswish()),
                                 ("selu", nn.SELU()), ("silu", nn.SiLU()), ("mish", nn.Mish()), ("sig", nn.Sigmoid()),
                                 ("tanh", nn.Tanh()), ("id", nn.Identity()),
                                 ("ce", nn.CrossEntropyLoss()), ("mse", nn.MSELoss()), ("bce", nn.BCEWithLogitsLoss()),
                                 ]))
prints.append({"name": "named Sequential", "expected": str(seq), "names": [n for n, _ in seq.named_parameters()],
               "buffers": [n for n, _ in seq.named_buffers()], "state": list(seq.state_dict().keys()),
               "modules": [n for n, _ in seq.named_modules()]})
inner = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.BatchNorm1d(2))), nn.ModuleList([nn.Linear(2, 1)]),
                      nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.Linear(1, 1)}))
prints.append({"name": "deeply nested", "expected": str(inner), "names": [n for n, _ in inner.named_parameters()],
               "buffers": [n for n, _ in inner.named_buffers()], "state": list(inner.state_dict().keys()),
               "modules": [n for n, _ in inner.named_modules()]})

# ------------------------------------------------------------------ functional
functional = []


def fcase(name, lua, out, inputs, grad=True):
    xs = [x for x in inputs]
    c = {"name": name, "lua": lua, "inputs": [T(x) for x in xs], "out": T(out)}
    if grad and out.requires_grad:
        go = torch.randn(out.shape, dtype=DT)
        gs = torch.autograd.grad(out, [x for x in xs if x.requires_grad], go)
        c["grad_out"] = T(go)
        c["grad_inputs"] = [T(g) for g in gs]
    functional.append(c)


def rx(*s):
    return torch.randn(*s, dtype=DT).requires_grad_(True)


x = rx(1, 2, 3, 4)
fcase("pad constant 4-D", "tg.F.pad(a, {1, 2, 0, 1}, {value = 0.5})", F.pad(x, (1, 2, 0, 1), value=0.5), [x])
fcase("pad constant 4-D positional mode/value", "tg.F.pad(a, {1, 2, 0, 1}, 'constant', 0.5)", F.pad(x, (1, 2, 0, 1), 'constant', 0.5), [x])
fcase("pad negative (crop)", "tg.F.pad(a, {-1, 1, 0, -1})", F.pad(x, (-1, 1, 0, -1)), [x])
for mode in ["reflect", "replicate", "circular"]:
    fcase("pad %s 4-D" % mode, "tg.F.pad(a, {1, 2, 2, 1}, {mode = '%s'})" % mode, F.pad(x, (1, 2, 2, 1), mode=mode), [x])
    x3 = rx(2, 3, 5)
    fcase("pad %s 3-D" % mode, "tg.F.pad(a, {2, 1}, {mode = '%s'})" % mode, F.pad(x3, (2, 1), mode=mode), [x3])
x = rx(1, 2, 3, 4)
fcase("interpolate nearest scale 2", "tg.F.interpolate(a, {scale_factor = 2})", F.interpolate(x, scale_factor=2), [x])
fcase("interpolate nearest size", "tg.F.interpolate(a, {size = {5, 7}})", F.interpolate(x, size=(5, 7)), [x])
fcase("interpolate bilinear size", "tg.F.interpolate(a, {size = {5, 7}, mode = 'bilinear'})",
      F.interpolate(x, size=(5, 7), mode='bilinear'), [x])
fcase("interpolate bilinear down", "tg.F.interpolate(a, {size = {2, 3}, mode = 'bilinear', align_corners = true})",
      F.interpolate(x, size=(2, 3), mode='bilinear', align_corners=True), [x])
fcase("interpolate bilinear antialias-free 0.5", "tg.F.interpolate(a, {scale_factor = 0.5, mode = 'bilinear'})",
      F.interpolate(x, scale_factor=0.5, mode='bilinear'), [x])
x1 = rx(2, 3, 5)
fcase("interpolate linear 3-D", "tg.F.interpolate(a, {size = 8, mode = 'linear'})",
      F.interpolate(x1, size=8, mode='linear'), [x1])
fcase("interpolate nearest 3-D", "tg.F.interpolate(a, {scale_factor = 3})", F.interpolate(x1, scale_factor=3), [x1])
oh = torch.tensor([0, 2, 1, 2])
functional.append({"name": "one_hot", "lua": "tg.F.one_hot(a, 4)", "inputs": [T(oh + 1)], "out": T(F.one_hot(oh, 4))})
functional.append({"name": "one_hot inferred classes 2-D", "lua": "tg.F.one_hot(a)",
                   "inputs": [T(torch.tensor([[0, 2], [1, 0]]) + 1)], "out": T(F.one_hot(torch.tensor([[0, 2], [1, 0]])))})
x = rx(3, 4)
fcase("normalize default", "tg.F.normalize(a)", F.normalize(x), [x])
x = rx(3, 4)
fcase("normalize p=1 dim=1", "tg.F.normalize(a, {p = 1, dim = 1})", F.normalize(x, p=1, dim=0), [x])
x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=DT).requires_grad_(True)
fcase("normalize zero row (eps)", "tg.F.normalize(a)", F.normalize(x), [x])
a, b = rx(3, 4), rx(3, 4)
fcase("cosine_similarity", "tg.F.cosine_similarity(a, b)", F.cosine_similarity(a, b), [a, b])
a, b = rx(3, 4), rx(1, 4)
fcase("cosine_similarity broadcast dim 1", "tg.F.cosine_similarity(a, b, 1)", F.cosine_similarity(a, b, 0), [a, b])
a, b = rx(2, 5), rx(2, 5)
fcase("cosine_similarity eps opts", "tg.F.cosine_similarity(a, b, {dim = 2, eps = 1e-3})",
      F.cosine_similarity(a, b, dim=1, eps=1e-3), [a, b])

# ------------------------------------------------------------------ train
torch.manual_seed(88)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(12, 2)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))


m = Small().to(DT)
m_init_sd = {k: v.clone() for k, v in m.state_dict().items()}
sd0 = {k: T(v) for k, v in m.state_dict().items()}
X = torch.randn(6, 1, 4, 4, dtype=DT)
Y = torch.tensor([0, 1, 1, 0, 1, 0])
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
losses = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(m(X), Y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
train = {"state0": sd0, "x": T(X), "y": T(Y + 1), "losses": losses,
         "state3": {k: T(v) for k, v in m.state_dict().items()}}

# the same model and data under each optimizer of the issue (3 steps; LBFGS 2 steps of a closure)
OPTS = [
    ("Adam", "{lr = 0.01, amsgrad = true, weight_decay = 0.01}", lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", "{lr = 0.01, betas = {0.8, 0.9}, weight_decay = 0.1}", lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RMSprop", "{lr = 0.01, centered = true, momentum = 0.5}", lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", "{lr = 0.1, lr_decay = 0.01, weight_decay = 0.01}", lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.01)),
    ("Adadelta", "{lr = 1.0, rho = 0.8}", lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.8)),
    ("SGD", "{lr = 0.1, momentum = 0.9, dampening = 0.1, maximize = true}", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, maximize=True)),
    ("LBFGS", "{lr = 0.5, max_iter = 4, history_size = 3}", lambda ps: torch.optim.LBFGS(ps, lr=0.5, max_iter=4, history_size=3)),
]
optims = []
for name, lua_opts, mk in OPTS:
    m2 = Small().to(DT)
    m2.load_state_dict(m_init_sd)
    o = mk(m2.parameters())
    ls = []
    for _ in range(2 if name == "LBFGS" else 3):
        def closure():
            o.zero_grad()
            l = F.cross_entropy(m2(X), Y)
            l.backward()
            return l
        ls.append(float(o.step(closure)))
    optims.append({"name": name, "opts": lua_opts, "losses": ls,
                   "state": {k: T(v) for k, v in m2.state_dict().items()}})


# ------------------------------------------------------------------ torchviz
import re
import torchviz


def renumber(src):
    """torchviz's node ids (object addresses) -> 1, 2, ... in order of first appearance"""
    ids = {}

    def sub(m):
        return str(ids.setdefault(m.group(0), len(ids) + 1))
    return re.sub(r"\b\d{6,}\b", sub, src)


dots = []
l = nn.Linear(3, 2)
y = l(torch.randn(4, 3)).relu().sum()
dots.append({"name": "Linear relu sum", "dot": renumber(torchviz.make_dot(y, params=dict(l.named_parameters())).source)})
cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 3))
y = cnn(torch.randn(2, 1, 4, 4))
dots.append({"name": "conv bn relu pool flatten linear", "dot": renumber(torchviz.make_dot(y, params=dict(cnn.named_parameters())).source)})

# ------------------------------------------------------------------ write
def lua(v, ind=""):
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
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (lua(k), lua(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


out = os.path.join(os.path.dirname(__file__), "..", "spec", "fixtures", "nn_audit.lua")
with open(out, "w") as f:
    f.write("-- generated by tools/gen_nn_audit_fixtures.py with PyTorch %s: do not edit\nreturn {\n" % torch.__version__)
    f.write("modules = {\n")
    for c in modules:
        f.write("  " + lua(c) + ",\n")
    f.write("},\nprints = {\n")
    for c in prints:
        f.write("  " + lua(c) + ",\n")
    f.write("},\nfunctional = {\n")
    for c in functional:
        f.write("  " + lua(c) + ",\n")
    f.write("},\ntrain = " + lua(train) + ",\noptims = {\n")
    for c in optims:
        f.write("  " + lua(c) + ",\n")
    f.write("},\ndots = {\n")
    for c in dots:
        f.write("  " + lua(c) + ",\n")
    f.write("},\n}\n")
print("wrote", out, len(modules), "modules", len(functional), "functional")
