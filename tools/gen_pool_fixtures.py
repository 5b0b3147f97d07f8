#!/usr/bin/env python3
"""gen_pool_fixtures.py: reference numbers for the pools, F.pad and F.interpolate
(tg.F, helper pool), computed with PyTorch, written as a Lua table to
spec/fixtures/pool.lua in the format of spec/support/fixtures.lua (read by
spec/pool_spec.lua; the specs never need Python).

  /work/venv/bin/python tools/gen_pool_fixtures.py

Each case: a Lua expression over inputs a (and b), the PyTorch function it
mirrors, inputs (distinct values, so max pools have no ties), outputs (indices
written 1-based: PyTorch's + 1), a grad_output, the input gradients and the
grad_fn name; float64 cases are also gradchecked by the spec."""
import os
import zlib

import torch
import torch.nn.functional as F

cases = []


def distinct(shape, gen, dtype):
    """values with gaps of at least 0.01 in random order (no ties for the max pools)"""
    n = 1
    for s in shape:
        n *= s
    v = torch.randperm(n, generator=gen).to(torch.float64) * 0.05 - n * 0.025
    v = torch.round(v + torch.rand(n, generator=gen, dtype=torch.float64) * 0.01, decimals=4)
    return v.reshape(shape).to(dtype)


def add(name, expr, fn, shapes, dtype=torch.float64, gradcheck=None, tol=None):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    ins = [distinct(s, gen, dtype).requires_grad_(True) for s in shapes]
    out = fn(*ins)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    gos, loss = [], 0
    for o in outs:
        if o.is_floating_point():
            g = torch.round(torch.randn(o.shape, generator=gen, dtype=torch.float64), decimals=2).to(o.dtype)
            gos.append(g)
            loss = loss + (o * g).sum()
        else:
            gos.append(None)
    grads = torch.autograd.grad(loss, ins, allow_unused=True)
    lua_outs = [o + 1 if not o.is_floating_point() else o for o in outs]
    cases.append({
        "name": name, "expr": expr,
        "inputs": [T(x, True) for x in ins],
        "outputs": [T(o) for o in lua_outs],
        "grad_outs": [T(g) if g is not None else False for g in gos],
        "grads": [T(g) if g is not None else False for g in grads],
        "grad_fn": type(outs[0].grad_fn).__name__ if outs[0].grad_fn is not None else "",
        "check_grad_fn": True,
        "gradcheck": (dtype == torch.float64) if gradcheck is None else gradcheck,
        "tol": tol or (1e-9 if dtype == torch.float64 else 2e-5),
    })


def T(t, rg=False):
    t = t.detach()
    d = {"shape": list(t.shape), "dtype": {torch.float64: "float64", torch.float32: "float32", torch.int64: "int64"}[t.dtype],
         "data": [float(v) if t.is_floating_point() else int(v) for v in t.reshape(-1).tolist()]}
    if rg:
        d["requires_grad"] = True
    return d


F32 = torch.float32

# ------------------------------------------------------------------ max pools
add("max_pool2d k3 s2 p1", "tg.F.max_pool2d(a, 3, {stride = 2, padding = 1})",
    lambda a: F.max_pool2d(a, 3, stride=2, padding=1), [(2, 3, 7, 6)])
add("max_pool2d pairs dilation", "tg.F.max_pool2d(a, {3, 2}, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}})",
    lambda a: F.max_pool2d(a, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)), [(2, 2, 7, 7)])
add("max_pool2d dilation 2 pad 1", "tg.F.max_pool2d(a, 3, {stride = 1, padding = 1, dilation = 2})",
    lambda a: F.max_pool2d(a, 3, stride=1, padding=1, dilation=2), [(1, 2, 5, 6)])
add("max_pool2d ceil_mode", "tg.F.max_pool2d(a, 2, {ceil_mode = true})",
    lambda a: F.max_pool2d(a, 2, ceil_mode=True), [(2, 2, 5, 5)])
add("max_pool2d ceil_mode last window rule", "tg.F.max_pool2d(a, 3, {stride = 2, padding = 1, ceil_mode = true})",
    lambda a: F.max_pool2d(a, 3, stride=2, padding=1, ceil_mode=True), [(1, 2, 6, 7)])
add("max_pool2d ceil k2 s3", "tg.F.max_pool2d(a, 2, {stride = 3, ceil_mode = true})",
    lambda a: F.max_pool2d(a, 2, stride=3, ceil_mode=True), [(1, 1, 7, 8)])
add("max_pool2d return_indices", "tg.F.max_pool2d(a, 3, {stride = 2, padding = 1, return_indices = true})",
    lambda a: F.max_pool2d(a, 3, stride=2, padding=1, return_indices=True), [(2, 2, 6, 5)])
add("max_pool2d unbatched", "tg.F.max_pool2d(a, {2, 3}, {stride = {1, 2}})",
    lambda a: F.max_pool2d(a, (2, 3), stride=(1, 2)), [(3, 5, 7)])
add("max_pool2d non-contiguous", "tg.F.max_pool2d(a:transpose(3, 4), 3, {stride = 2, return_indices = true})",
    lambda a: F.max_pool2d(a.transpose(2, 3), 3, stride=2, return_indices=True), [(2, 2, 7, 9)])
add("max_pool2d float32", "tg.F.max_pool2d(a, 3, {stride = 2, padding = 1})",
    lambda a: F.max_pool2d(a, 3, stride=2, padding=1), [(2, 4, 9, 8)], dtype=F32)
add("max_pool2d stride bigger than kernel", "tg.F.max_pool2d(a, 2, {stride = 3})",
    lambda a: F.max_pool2d(a, 2, stride=3), [(1, 2, 8, 8)])
add("max_pool1d", "tg.F.max_pool1d(a, 3, {stride = 2, padding = 1, dilation = 2, ceil_mode = true})",
    lambda a: F.max_pool1d(a, 3, stride=2, padding=1, dilation=2, ceil_mode=True), [(2, 3, 10)])
add("max_pool1d unbatched indices", "tg.F.max_pool1d(a, 2, {return_indices = true})",
    lambda a: F.max_pool1d(a, 2, return_indices=True), [(3, 9)])
add("max_pool1d float32", "tg.F.max_pool1d(a, 4, {stride = 3, padding = 2})",
    lambda a: F.max_pool1d(a, 4, stride=3, padding=2), [(2, 3, 11)], dtype=F32)

# ------------------------------------------------------------------ avg pools
for cip in (True, False):
    for ceil in (False, True):
        add(f"avg_pool2d k3 s2 p1 cip={cip} ceil={ceil}",
            f"tg.F.avg_pool2d(a, 3, {{stride = 2, padding = 1, count_include_pad = {str(cip).lower()}, ceil_mode = {str(ceil).lower()}}})",
            lambda a, cip=cip, ceil=ceil: F.avg_pool2d(a, 3, stride=2, padding=1, count_include_pad=cip, ceil_mode=ceil),
            [(2, 2, 6, 7)])
add("avg_pool2d divisor_override", "tg.F.avg_pool2d(a, {3, 2}, {stride = {2, 1}, padding = {1, 1}, divisor_override = 3})",
    lambda a: F.avg_pool2d(a, (3, 2), stride=(2, 1), padding=(1, 1), divisor_override=3), [(1, 2, 7, 5)])
add("avg_pool2d ceil window past the padding", "tg.F.avg_pool2d(a, 3, {stride = 2, padding = 1, ceil_mode = true})",
    lambda a: F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True), [(1, 1, 6, 6)])
add("avg_pool2d unbatched", "tg.F.avg_pool2d(a, 2)", lambda a: F.avg_pool2d(a, 2), [(3, 5, 7)])
add("avg_pool2d non-contiguous", "tg.F.avg_pool2d(a:permute(1, 4, 2, 3), {2, 3}, {stride = 1})",
    lambda a: F.avg_pool2d(a.permute(0, 3, 1, 2), (2, 3), stride=1), [(2, 5, 6, 3)])
add("avg_pool2d float32", "tg.F.avg_pool2d(a, 3, {stride = 2, padding = 1, count_include_pad = false})",
    lambda a: F.avg_pool2d(a, 3, stride=2, padding=1, count_include_pad=False), [(2, 3, 9, 8)], dtype=F32)
add("avg_pool1d", "tg.F.avg_pool1d(a, 3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false})",
    lambda a: F.avg_pool1d(a, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [(2, 3, 10)])
add("avg_pool1d unbatched", "tg.F.avg_pool1d(a, 4, {stride = 3, padding = 2})",
    lambda a: F.avg_pool1d(a, 4, stride=3, padding=2), [(3, 11)])

# ---------------------------------------------------------------- max unpool
def unpool2(a, k, st, out=None):
    y, i = F.max_pool2d(a, k, stride=st, return_indices=True)
    return F.max_unpool2d(y, i, k, stride=st, output_size=out)


add("max_unpool2d of max_pool2d", "(function() local y, i = tg.F.max_pool2d(a, 2, {return_indices = true}); "
    "return tg.F.max_unpool2d(y, i, 2) end)()", lambda a: unpool2(a, 2, 2), [(2, 2, 5, 6)])
add("max_unpool2d overlapping windows, output_size",
    "(function() local y, i = tg.F.max_pool2d(a, 3, {stride = 2, return_indices = true}); "
    "return tg.F.max_unpool2d(y, i, 3, {stride = 2, output_size = {7, 8}}) end)()",
    lambda a: unpool2(a, 3, 2, (7, 8)), [(1, 2, 7, 8)], gradcheck=False)  # duplicates: PyTorch's adjoint is not the
# derivative of the assignment (finite differences see one write), so values and gradients only
add("max_unpool1d", "(function() local y, i = tg.F.max_pool1d(a, 3, {stride = 2, return_indices = true}); "
    "return tg.F.max_unpool1d(y, i, 3, 2) end)()",
    lambda a: F.max_unpool1d(*F.max_pool1d(a, 3, stride=2, return_indices=True), 3, stride=2), [(2, 3, 9)],
    gradcheck=False)
add("max_unpool1d non-overlapping", "(function() local y, i = tg.F.max_pool1d(a, 2, {return_indices = true}); "
    "return tg.F.max_unpool1d(y, i, 2, {output_size = {9}}) end)()",
    lambda a: F.max_unpool1d(*F.max_pool1d(a, 2, return_indices=True), 2, output_size=(9,)), [(2, 3, 9)])

# -------------------------------------------------------------------- lp pools
add("lp_pool2d p=2", "tg.F.lp_pool2d(a, 2, 3, {stride = 2})", lambda a: F.lp_pool2d(a, 2, 3, stride=2), [(2, 2, 7, 6)])
add("lp_pool2d p=3 pair ceil", "tg.F.lp_pool2d(a:abs() + 0.1, 3, {2, 3}, nil, true)",
    lambda a: F.lp_pool2d(a.abs() + 0.1, 3, (2, 3), ceil_mode=True), [(1, 2, 5, 7)])
add("lp_pool1d p=1.5", "tg.F.lp_pool1d(a:abs() + 0.1, 1.5, 2)", lambda a: F.lp_pool1d(a.abs() + 0.1, 1.5, 2),
    [(2, 3, 9)])

# -------------------------------------------------------------- adaptive pools
add("adaptive_avg_pool2d 7x5 -> 3x2", "tg.F.adaptive_avg_pool2d(a, {3, 2})",
    lambda a: F.adaptive_avg_pool2d(a, (3, 2)), [(2, 3, 7, 5)])
add("adaptive_avg_pool2d up 5x3 -> 7x4", "tg.F.adaptive_avg_pool2d(a, {7, 4})",
    lambda a: F.adaptive_avg_pool2d(a, (7, 4)), [(1, 2, 5, 3)])
add("adaptive_avg_pool2d nil keeps", "tg.F.adaptive_avg_pool2d(a, {nil, 2})",
    lambda a: F.adaptive_avg_pool2d(a, (None, 2)), [(1, 2, 5, 7)])
add("adaptive_avg_pool2d 1 is mean", "tg.F.adaptive_avg_pool2d(a, 1)",
    lambda a: F.adaptive_avg_pool2d(a, 1), [(2, 3, 4, 5)])
add("adaptive_avg_pool2d unbatched", "tg.F.adaptive_avg_pool2d(a, 3)",
    lambda a: F.adaptive_avg_pool2d(a, 3), [(2, 8, 7)])
add("adaptive_avg_pool2d non-contiguous float32", "tg.F.adaptive_avg_pool2d(a:transpose(3, 4), {4, 3})",
    lambda a: F.adaptive_avg_pool2d(a.transpose(2, 3), (4, 3)), [(2, 3, 9, 10)], dtype=F32)
add("adaptive_avg_pool1d", "tg.F.adaptive_avg_pool1d(a, 4)", lambda a: F.adaptive_avg_pool1d(a, 4), [(2, 3, 10)])
add("adaptive_avg_pool1d to 1", "tg.F.adaptive_avg_pool1d(a, 1)", lambda a: F.adaptive_avg_pool1d(a, 1), [(3, 7)])
add("adaptive_max_pool2d", "tg.F.adaptive_max_pool2d(a, {3, 2}, {return_indices = true})",
    lambda a: F.adaptive_max_pool2d(a, (3, 2), return_indices=True), [(2, 3, 7, 5)])
add("adaptive_max_pool2d up", "tg.F.adaptive_max_pool2d(a, {6, 4})",
    lambda a: F.adaptive_max_pool2d(a, (6, 4)), [(1, 2, 4, 3)])
add("adaptive_max_pool2d unbatched float32", "tg.F.adaptive_max_pool2d(a, 3)",
    lambda a: F.adaptive_max_pool2d(a, 3), [(3, 8, 7)], dtype=F32)
add("adaptive_max_pool1d", "tg.F.adaptive_max_pool1d(a, 3, {return_indices = true})",
    lambda a: F.adaptive_max_pool1d(a, 3, return_indices=True), [(2, 3, 10)])

# ------------------------------------------------------------------------ pad
add("pad constant value", "tg.F.pad(a, {1, 2, 0, 1}, {value = 1.5})",
    lambda a: F.pad(a, (1, 2, 0, 1), value=1.5), [(2, 3, 4)])
add("pad constant crop", "tg.F.pad(a, {-1, 2, 1, -2})",
    lambda a: F.pad(a, (-1, 2, 1, -2)), [(2, 4, 5)])
add("pad constant three dims", "tg.F.pad(a, {1, 0, 0, 2, 1, 1}, \"constant\", -2)",
    lambda a: F.pad(a, (1, 0, 0, 2, 1, 1), "constant", -2.0), [(2, 2, 3)])
add("pad constant non-contiguous", "tg.F.pad(a:t(), {2, 1})",
    lambda a: F.pad(a.t(), (2, 1)), [(4, 3)])
for mode, name in (("reflect", "ReflectionPad"), ("replicate", "ReplicationPad")):
    add(f"pad {mode} 1d", f"tg.F.pad(a, {{2, 3}}, {{mode = \"{mode}\"}})",
        lambda a, m=mode: F.pad(a, (2, 3), mode=m), [(2, 3, 5)])
    add(f"pad {mode} 1d unbatched", f"tg.F.pad(a, {{3, 1}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a, (3, 1), mode=m), [(3, 4)])
    add(f"pad {mode} 2d", f"tg.F.pad(a, {{1, 2, 2, 1}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a, (1, 2, 2, 1), mode=m), [(2, 2, 4, 3)])
    add(f"pad {mode} 2d negative", f"tg.F.pad(a, {{-1, 2, 1, -2}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a, (-1, 2, 1, -2), mode=m), [(1, 2, 5, 4)])
    add(f"pad {mode} 2d unbatched non-contiguous", f"tg.F.pad(a:transpose(2, 3), {{2, 0, 1, 1}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a.transpose(1, 2), (2, 0, 1, 1), mode=m), [(2, 4, 3)])
    add(f"pad {mode} 3d", f"tg.F.pad(a, {{1, 1, 0, 2, 2, 1}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a, (1, 1, 0, 2, 2, 1), mode=m), [(1, 2, 3, 3, 4)])
    add(f"pad {mode} 2d float32", f"tg.F.pad(a, {{2, 2, 1, 1}}, \"{mode}\")",
        lambda a, m=mode: F.pad(a, (2, 2, 1, 1), mode=m), [(2, 3, 5, 4)], dtype=F32)
add("pad circular 1d", "tg.F.pad(a, {2, 3}, \"circular\")",
    lambda a: F.pad(a, (2, 3), mode="circular"), [(2, 2, 4)])
add("pad circular 2d", "tg.F.pad(a, {1, 2, 3, 1}, \"circular\")",
    lambda a: F.pad(a, (1, 2, 3, 1), mode="circular"), [(1, 2, 3, 4)])
add("pad circular negative", "tg.F.pad(a, {-1, 2, 1, -2}, \"circular\")",
    lambda a: F.pad(a, (-1, 2, 1, -2), mode="circular"), [(1, 2, 4, 5)])
add("pad circular unbatched", "tg.F.pad(a, {1, 1, 1, 1}, \"circular\")",
    lambda a: F.pad(a, (1, 1, 1, 1), mode="circular"), [(2, 3, 3)])

# ---------------------------------------------------------------- interpolate
add("interpolate nearest 1d x2", "tg.F.interpolate(a, {scale_factor = 2})",
    lambda a: F.interpolate(a, scale_factor=2), [(2, 3, 5)])
add("interpolate nearest 2d size", "tg.F.interpolate(a, {size = {5, 7}})",
    lambda a: F.interpolate(a, size=(5, 7)), [(2, 2, 3, 4)])
add("interpolate nearest 2d down", "tg.F.interpolate(a, {size = {3, 2}, mode = \"nearest\"})",
    lambda a: F.interpolate(a, size=(3, 2), mode="nearest"), [(1, 2, 7, 5)])
add("interpolate nearest scale 1.7", "tg.F.interpolate(a, {scale_factor = 1.7})",
    lambda a: F.interpolate(a, scale_factor=1.7), [(1, 2, 4, 5)])
add("interpolate nearest-exact", "tg.F.interpolate(a, {size = {7, 3}, mode = \"nearest-exact\"})",
    lambda a: F.interpolate(a, size=(7, 3), mode="nearest-exact"), [(1, 2, 4, 5)])
add("interpolate nearest 3d", "tg.F.interpolate(a, {scale_factor = {2, 1, 1.5}})",
    lambda a: F.interpolate(a, scale_factor=(2, 1, 1.5)), [(1, 2, 2, 3, 2)])
for ac in (False, True):
    s = str(ac).lower()
    add(f"interpolate linear ac={s}", f"tg.F.interpolate(a, {{size = 7, mode = \"linear\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, size=7, mode="linear", align_corners=ac), [(2, 3, 4)])
    add(f"interpolate linear down ac={s}", f"tg.F.interpolate(a, {{scale_factor = 0.6, mode = \"linear\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, scale_factor=0.6, mode="linear", align_corners=ac), [(2, 2, 9)])
    add(f"interpolate bilinear ac={s}", f"tg.F.interpolate(a, {{size = {{7, 3}}, mode = \"bilinear\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, size=(7, 3), mode="bilinear", align_corners=ac), [(2, 2, 4, 5)])
    add(f"interpolate bilinear scales ac={s}",
        f"tg.F.interpolate(a, {{scale_factor = {{1.5, 2.3}}, mode = \"bilinear\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, scale_factor=(1.5, 2.3), mode="bilinear", align_corners=ac), [(1, 2, 3, 4)])
    add(f"interpolate bilinear float32 ac={s}",
        f"tg.F.interpolate(a, {{scale_factor = 2, mode = \"bilinear\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, scale_factor=2, mode="bilinear", align_corners=ac), [(2, 3, 5, 6)], dtype=F32)
    add(f"interpolate bicubic ac={s}", f"tg.F.interpolate(a, {{size = {{7, 3}}, mode = \"bicubic\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, size=(7, 3), mode="bicubic", align_corners=ac), [(2, 2, 4, 5)])
    add(f"interpolate bicubic scales float32 ac={s}",
        f"tg.F.interpolate(a, {{scale_factor = {{2, 1.5}}, mode = \"bicubic\", align_corners = {s}}})",
        lambda a, ac=ac: F.interpolate(a, scale_factor=(2, 1.5), mode="bicubic", align_corners=ac), [(1, 3, 5, 6)], dtype=F32)
add("interpolate bilinear recompute_scale_factor",
    "tg.F.interpolate(a, {scale_factor = 1.7, mode = \"bilinear\", recompute_scale_factor = true})",
    lambda a: F.interpolate(a, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True), [(1, 2, 4, 5)])
add("interpolate bilinear non-contiguous", "tg.F.interpolate(a:transpose(3, 4), {size = {4, 6}, mode = \"bilinear\"})",
    lambda a: F.interpolate(a.transpose(2, 3), size=(4, 6), mode="bilinear"), [(1, 2, 5, 3)])
add("interpolate trilinear", "tg.F.interpolate(a, {size = {3, 4, 2}, mode = \"trilinear\", align_corners = false})",
    lambda a: F.interpolate(a, size=(3, 4, 2), mode="trilinear", align_corners=False), [(1, 2, 2, 3, 3)])
add("interpolate area", "tg.F.interpolate(a, {size = {3, 2}, mode = \"area\"})",
    lambda a: F.interpolate(a, size=(3, 2), mode="area"), [(1, 2, 7, 5)])
add("upsample alias", "tg.F.upsample(a, {scale_factor = 2, mode = \"bilinear\", align_corners = true})",
    lambda a: F.upsample(a, scale_factor=2, mode="bilinear", align_corners=True), [(1, 1, 3, 3)])


# ------------------------------------------------ shape sweep (test_pooling_shape)
# output shape and sum of max_pool2d / avg_pool2d over sizes, kernels, strides,
# paddings, dilations and ceil_mode: PyTorch's output-size rule, last window included
sweep, sweep_inputs = [], []
gen = torch.Generator().manual_seed(7)
for size in (4, 5, 6, 7):
    x = distinct((1, 1, size, size + 1), gen, torch.float64)
    sweep_inputs.append(T(x))
    for k in (1, 2, 3):
        for st in (1, 2, 3):
            for pad in range(0, k // 2 + 1):
                for dil in (1, 2):
                    for ceil in (False, True):
                        try:
                            y = F.max_pool2d(x, k, stride=st, padding=pad, dilation=dil, ceil_mode=ceil)
                        except RuntimeError:
                            continue
                        entry = {"input": len(sweep_inputs), "k": k, "s": st, "p": pad, "d": dil, "ceil": ceil,
                                 "max_shape": list(y.shape), "max_sum": float(y.sum())}
                        if dil == 1:
                            for cip in (True, False):
                                a = F.avg_pool2d(x, k, stride=st, padding=pad, ceil_mode=ceil, count_include_pad=cip)
                                entry["avg_shape"] = list(a.shape)
                                entry["avg_sum_" + ("cip" if cip else "nocip")] = float(a.sum())
                        sweep.append(entry)


def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "math.huge" if v > 0 else "-math.huge"
        s = "%.15g" % v
        return s if ("." in s or "e" in s) else s + ".0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(e) for e in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(e)}" for k, e in v.items()) + "}"
    raise TypeError(type(v))


here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "spec", "fixtures", "pool.lua")
with open(path, "w") as f:
    f.write("-- generated by tools/gen_pool_fixtures.py with PyTorch %s: do not edit\n" % torch.__version__)
    f.write("return {\n")
    for c in cases:
        f.write("  " + lua(c) + ",\n")
    f.write("  sweep = {\n")
    for e in sweep:
        f.write("    " + lua(e) + ",\n")
    f.write("  },\n")
    f.write("  sweep_inputs = " + lua(sweep_inputs) + ",\n")
    f.write("}\n")
print("wrote %d cases to %s" % (len(cases), os.path.normpath(path)))
