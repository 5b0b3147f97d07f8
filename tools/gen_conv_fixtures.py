#!/usr/bin/env python3
"""gen_conv_fixtures.py: reference numbers for F.conv1d, F.conv2d,
F.conv_transpose1d and F.conv_transpose2d, computed with PyTorch in float64,
written as a Lua table to spec/fixtures/conv.lua (read by spec/conv_spec.lua;
the specs never need Python).

  python3 tools/gen_conv_fixtures.py            # rewrite spec/fixtures/conv.lua

Each case: fn (name in tg.F), input, weight, bias (absent = none), the options
as Lua passes them (tuples become tables), the output, a grad_output and the
gradients of input, weight and bias."""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261201)
DT = torch.float64


def T(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()], "dtype": "float64"}


cases = []


def add(name, fn, xs, ws, bias=True, **opts):
    x = torch.randn(*xs, dtype=DT, requires_grad=True)
    w = torch.randn(*ws, dtype=DT, requires_grad=True)
    b = None
    if bias:
        nb = ws[0] if not fn.startswith("conv_transpose") else ws[1] * opts.get("groups", 1)
        b = torch.randn(nb, dtype=DT, requires_grad=True)
    out = getattr(F, fn)(x, w, b, **opts)
    go = torch.randn(out.shape, dtype=DT)
    ins = [x, w] + ([b] if b is not None else [])
    grads = torch.autograd.grad(out, ins, go, allow_unused=True)
    grads = [g if g is not None else torch.zeros_like(i) for g, i in zip(grads, ins)]
    lo = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}
    case = {"name": name, "fn": fn, "input": T(x), "weight": T(w), "opts": lo, "out": T(out), "grad_out": T(go),
            "grad_input": T(grads[0]), "grad_weight": T(grads[1]),
            "grad_fn": type(out.grad_fn).__name__ if out.grad_fn is not None else ""}
    if b is not None:
        case["bias"] = T(b)
        case["grad_bias"] = T(grads[2])
    cases.append(case)


# ---- conv2d
add("conv2d basic", "conv2d", (2, 3, 5, 5), (4, 3, 3, 3))
add("conv2d stride 2 padding 1 odd sizes", "conv2d", (2, 3, 7, 6), (5, 3, 3, 3), stride=2, padding=1)
add("conv2d pairs: stride, padding, dilation", "conv2d", (2, 2, 7, 6), (3, 2, 3, 2), stride=(2, 1), padding=(1, 2),
    dilation=(1, 2))
add("conv2d padding same, dilation 2", "conv2d", (2, 2, 5, 6), (3, 2, 3, 3), padding="same", dilation=2)
add("conv2d padding same, even kernel (asymmetric)", "conv2d", (2, 2, 6, 5), (3, 2, 4, 2), padding="same")
add("conv2d padding same, even kernel, dilation (1, 3)", "conv2d", (1, 2, 7, 9), (3, 2, 2, 4), padding="same",
    dilation=(1, 3))
add("conv2d padding valid", "conv2d", (2, 3, 5, 6), (4, 3, 2, 3), padding="valid")
add("conv2d groups 2", "conv2d", (2, 4, 4, 4), (4, 2, 3, 3), groups=2, padding=1)
add("conv2d depthwise (groups = channels, multiplier 2)", "conv2d", (2, 3, 5, 4), (6, 1, 3, 3), groups=3,
    padding=1)
add("conv2d no bias", "conv2d", (2, 3, 4, 5), (3, 3, 3, 3), bias=False, padding=1)
add("conv2d 1x1 (no im2col)", "conv2d", (2, 5, 4, 3), (6, 5, 1, 1))
add("conv2d 1x1 stride 2", "conv2d", (2, 5, 5, 5), (3, 5, 1, 1), stride=2)
add("conv2d 1x1 groups 5 padding 1", "conv2d", (1, 5, 3, 3), (5, 1, 1, 1), groups=5, padding=1)
add("conv2d batch 1", "conv2d", (1, 3, 6, 6), (2, 3, 3, 3), stride=2)
add("conv2d unbatched", "conv2d", (3, 5, 6), (4, 3, 3, 3), padding=1)
add("conv2d empty batch", "conv2d", (0, 3, 5, 5), (4, 3, 3, 3))
add("conv2d kernel the input's size", "conv2d", (2, 3, 4, 5), (2, 3, 4, 5))
add("conv2d stride larger than kernel", "conv2d", (2, 2, 8, 7), (3, 2, 2, 2), stride=3)
add("conv2d dilation 3 padding 2", "conv2d", (2, 2, 7, 7), (3, 2, 3, 3), dilation=3, padding=2)
add("conv2d padding larger than kernel", "conv2d", (1, 2, 3, 3), (2, 2, 2, 2), padding=3)
add("conv2d larger planes (one GEMM per sample)", "conv2d", (2, 1, 12, 11), (1, 1, 3, 3), padding=1)
add("conv2d 1x1 groups 2 batch 1 (GEMM on the input)", "conv2d", (1, 4, 5, 5), (4, 2, 1, 1), groups=2)
add("conv2d kernel (3, 1), no padding (rows shift, columns do not)", "conv2d", (2, 2, 6, 5), (2, 2, 3, 1))
add("conv2d kernel (3, 1), padding (2, 0)", "conv2d", (1, 2, 4, 5), (2, 2, 3, 1), padding=(2, 0))
add("conv2d single row input", "conv2d", (2, 3, 1, 9), (2, 3, 1, 3), stride=(1, 2))

# ---- conv1d
add("conv1d basic", "conv1d", (2, 3, 7), (4, 3, 3))
add("conv1d stride 2 padding 1 dilation 2", "conv1d", (2, 3, 10), (4, 3, 3), stride=2, padding=1, dilation=2)
add("conv1d padding same, even kernel", "conv1d", (2, 3, 8), (2, 3, 4), padding="same")
add("conv1d padding same, even kernel, dilation 2", "conv1d", (2, 2, 6), (3, 2, 4), padding="same", dilation=2)
add("conv1d padding same, kernel longer than input", "conv1d", (1, 3, 2), (2, 3, 5), padding="same")
add("conv1d depthwise groups 3", "conv1d", (2, 3, 9), (6, 1, 3), groups=3, padding=1)
add("conv1d unbatched", "conv1d", (3, 8), (4, 3, 3), stride=2)
add("conv1d no bias, list options", "conv1d", (2, 4, 11), (2, 2, 3), bias=False, stride=(3,), padding=(2,),
    groups=2)
add("conv1d 1x1", "conv1d", (3, 4, 5), (2, 4, 1))

# ---- conv_transpose2d
add("conv_transpose2d basic", "conv_transpose2d", (2, 3, 4, 4), (3, 2, 3, 3))
add("conv_transpose2d stride 2 padding 1 output_padding 1", "conv_transpose2d", (2, 3, 3, 4), (3, 2, 3, 3),
    stride=2, padding=1, output_padding=1)
add("conv_transpose2d pairs", "conv_transpose2d", (1, 2, 3, 4), (2, 3, 3, 2), stride=(2, 3), padding=(0, 1),
    output_padding=(1, 2))
add("conv_transpose2d groups 2", "conv_transpose2d", (2, 4, 3, 3), (4, 3, 2, 2), groups=2)
add("conv_transpose2d dilation 2 output_padding 1", "conv_transpose2d", (2, 2, 4, 3), (2, 3, 3, 3), dilation=2,
    output_padding=1)
add("conv_transpose2d unbatched", "conv_transpose2d", (3, 3, 4), (3, 2, 2, 3), stride=2)
add("conv_transpose2d no bias batch 1", "conv_transpose2d", (1, 3, 5, 4), (3, 2, 3, 3), bias=False, padding=1)
add("conv_transpose2d 1x1", "conv_transpose2d", (2, 4, 3, 3), (4, 3, 1, 1))
add("conv_transpose2d empty batch", "conv_transpose2d", (0, 3, 4, 4), (3, 2, 3, 3))
add("conv_transpose2d larger planes (one GEMM per sample)", "conv_transpose2d", (2, 1, 12, 11), (1, 1, 2, 2))
add("conv_transpose2d 1x1 groups 2 batch 1 (GEMM into the output)", "conv_transpose2d", (1, 4, 3, 4), (4, 1, 1, 1),
    groups=2)
add("conv_transpose2d depthwise", "conv_transpose2d", (1, 3, 3, 4), (3, 2, 3, 3), groups=3, stride=2, padding=1)

# ---- conv_transpose1d
add("conv_transpose1d stride 2 padding 1 output_padding 1", "conv_transpose1d", (2, 3, 5), (3, 2, 3), stride=2,
    padding=1, output_padding=1)
add("conv_transpose1d groups 3 dilation 2 unbatched", "conv_transpose1d", (3, 6), (3, 2, 3), groups=3,
    dilation=2)
add("conv_transpose1d no bias", "conv_transpose1d", (2, 2, 4), (2, 3, 4), bias=False, stride=3)


# ----------------------------------------------------------------- output
def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.12g" % v
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(e) for e in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(e)}" for k, e in v.items()) + "}"
    raise TypeError(type(v))


here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "spec", "fixtures", "conv.lua")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    f.write("-- generated by tools/gen_conv_fixtures.py with PyTorch %s: do not edit\n" % torch.__version__)
    f.write("return {\n")
    for c in cases:
        f.write("  " + lua(c) + ",\n")
    f.write("}\n")
print("wrote %d cases to %s" % (len(cases), os.path.normpath(path)))
