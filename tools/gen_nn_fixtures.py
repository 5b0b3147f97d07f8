#!/usr/bin/env python3
"""gen_nn_fixtures.py: reference numbers for softmax, log_softmax and the losses
of tgrad.nn.functional, computed with PyTorch in float64, written as a Lua table
to spec/fixtures/nn.lua (read by spec/nn_functional_spec.lua; the specs never
need Python).

  python3 tools/gen_nn_fixtures.py            # rewrite spec/fixtures/nn.lua

Each case: fn (name in tg.F), input / target / options tensors (flat data and
shape), the output, a grad_output and the gradients of input (and target
where PyTorch differentiates it). Class ids are written 1-based for tgrad
(torch's t becomes t + 1; an ignored -100 stays -100)."""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261123)
DT = torch.float64
REDUCTIONS = ["mean", "sum", "none"]


def T(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) if t.is_floating_point() else int(v) for v in t.reshape(-1).tolist()],
            "dtype": "int64" if t.dtype == torch.long else "float64"}


def lua_ids(t, ignore=-100):
    """torch class ids -> tgrad 1-based ids (ignored entries keep -100)"""
    return torch.where(t == -100, t, t + 1)


cases = []


def add(name, fn, inp, target, opts=None, lua_opts=None, grad_target=False, call=None, torch_target=None):
    """run F.<fn>(inp, torch_target or target, **opts) in float64; record everything"""
    opts = dict(opts or {})
    x = inp.clone().to(DT).requires_grad_(True)
    tt = torch_target if torch_target is not None else target
    if tt.is_floating_point():
        tt = tt.clone().to(DT).requires_grad_(grad_target)
    kw = {k: (v.to(DT) if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in opts.items()}
    out = (call or getattr(F, fn))(x, tt, **kw)
    go = torch.randn(out.shape, dtype=DT) if out.dim() > 0 else torch.tensor(1.0 + 0.5 * len(cases) % 3, dtype=DT)
    ins = [x] + ([tt] if grad_target else [])
    grads = torch.autograd.grad(out, ins, go)
    lo = {}
    for k, v in (lua_opts if lua_opts is not None else opts).items():
        lo[k] = T(v) if torch.is_tensor(v) else v
    case = {"name": name, "fn": fn, "input": T(inp), "target": T(target), "opts": lo, "out": T(out),
            "grad_out": T(go), "grad_input": T(grads[0]), "grad_fn": type(out.grad_fn).__name__}
    if grad_target:
        case["grad_target"] = T(grads[1])
    cases.append(case)


def softmax_case(name, fn, x, dim, lua_dim):
    xx = x.clone().to(DT).requires_grad_(True)
    out = getattr(torch, fn)(xx, dim)
    go = torch.randn(out.shape, dtype=DT)
    g, = torch.autograd.grad(out, xx, go)
    cases.append({"name": name, "fn": fn, "dim": lua_dim, "input": T(x), "out": T(out), "grad_out": T(go),
                  "grad_input": T(g), "grad_fn": type(out.grad_fn).__name__})


# ---------------------------------------------------------------- softmax
for fn in ["softmax", "log_softmax"]:
    x = torch.randn(3, 4, dtype=DT) * 3
    softmax_case(fn + " 2-D dim 2", fn, x, 1, 2)
    softmax_case(fn + " 2-D dim 1", fn, x, 0, 1)
    softmax_case(fn + " 2-D dim -1", fn, x, -1, -1)
    x3 = torch.randn(2, 3, 4, dtype=DT) * 2
    softmax_case(fn + " 3-D dim 2 (inner > 1)", fn, x3, 1, 2)
    softmax_case(fn + " 3-D dim 3", fn, x3, 2, 3)
    softmax_case(fn + " 1-D", fn, torch.randn(5, dtype=DT), 0, 1)
    softmax_case(fn + " 0-D", fn, torch.tensor(0.7, dtype=DT), 0, 1)
    softmax_case(fn + " large values", fn, torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]], dtype=DT), 1, 2)

# ---------------------------------------------------------- cross_entropy
N, C = 4, 5
x = torch.randn(N, C, dtype=DT) * 2
t = torch.tensor([2, 0, 4, 1])
w = torch.rand(C, dtype=DT) + 0.5
t_ign = torch.tensor([2, -100, 4, 1])
t_ign3 = torch.tensor([2, 3, 4, 3])  # class 3 (tgrad 4) ignored
for r in REDUCTIONS:
    add("cross_entropy " + r, "cross_entropy", x, lua_ids(t), {"reduction": r}, torch_target=t)
    add("cross_entropy weight " + r, "cross_entropy", x, lua_ids(t), {"reduction": r, "weight": w}, torch_target=t)
    add("cross_entropy ignore -100 " + r, "cross_entropy", x, lua_ids(t_ign), {"reduction": r}, torch_target=t_ign)
    add("cross_entropy weight ignore_index=4 " + r, "cross_entropy", x, lua_ids(t_ign3),
        {"reduction": r, "weight": w, "ignore_index": 3}, {"reduction": r, "weight": w, "ignore_index": 4},
        torch_target=t_ign3)
    add("cross_entropy label_smoothing " + r, "cross_entropy", x, lua_ids(t_ign),
        {"reduction": r, "label_smoothing": 0.2}, torch_target=t_ign)
    add("cross_entropy label_smoothing weight " + r, "cross_entropy", x, lua_ids(t_ign),
        {"reduction": r, "label_smoothing": 0.15, "weight": w}, torch_target=t_ign)
    p = torch.softmax(torch.randn(N, C, dtype=DT), 1)
    add("cross_entropy probs " + r, "cross_entropy", x, p, {"reduction": r}, grad_target=True)
    add("cross_entropy probs weight smoothing " + r, "cross_entropy", x, p,
        {"reduction": r, "weight": w, "label_smoothing": 0.1}, grad_target=True)
    x4 = torch.randn(2, 3, 2, 2, dtype=DT)
    t4 = torch.randint(0, 3, (2, 2, 2))
    t4[0, 1, 0] = -100
    add("cross_entropy 4-D " + r, "cross_entropy", x4, lua_ids(t4), {"reduction": r}, torch_target=t4)
    x3 = torch.randn(2, 3, 4, dtype=DT)
    t3 = torch.randint(0, 3, (2, 4))
    add("cross_entropy 3-D weight smoothing " + r, "cross_entropy", x3, lua_ids(t3),
        {"reduction": r, "weight": torch.rand(3, dtype=DT) + 0.5, "label_smoothing": 0.1}, torch_target=t3)
    add("cross_entropy 1-D " + r, "cross_entropy", torch.randn(C, dtype=DT), torch.tensor(4), {"reduction": r},
        torch_target=torch.tensor(3))

# --------------------------------------------------------------- nll_loss
logp = torch.log_softmax(torch.randn(N, C, dtype=DT), 1)
for r in REDUCTIONS:
    add("nll_loss " + r, "nll_loss", logp, lua_ids(t), {"reduction": r}, torch_target=t)
    add("nll_loss weight ignore " + r, "nll_loss", logp, lua_ids(t_ign), {"reduction": r, "weight": w},
        torch_target=t_ign)
    x3 = torch.randn(2, 3, 4, dtype=DT)
    t3 = torch.randint(0, 3, (2, 4))
    add("nll_loss 3-D " + r, "nll_loss", x3, lua_ids(t3), {"reduction": r}, torch_target=t3)
    add("nll_loss 1-D " + r, "nll_loss", logp[0], torch.tensor(2), {"reduction": r}, torch_target=torch.tensor(1))
add("nll_loss all ignored mean", "nll_loss", logp, torch.full((N,), -100), {}, torch_target=torch.full((N,), -100))

# ------------------------------------------------------ pointwise losses
xs = torch.randn(3, 4, dtype=DT)
ys = torch.randn(3, 4, dtype=DT)
ys[0, 0] = xs[0, 0] + 0.3  # inside beta / delta
ys[1, 1] = xs[1, 1] - 0.2
probs_in = torch.rand(3, 4, dtype=DT) * 0.9 + 0.05
probs_tg = torch.rand(3, 4, dtype=DT)
for r in REDUCTIONS:
    add("mse_loss " + r, "mse_loss", xs, ys, {"reduction": r}, grad_target=True)
    add("l1_loss " + r, "l1_loss", xs, ys, {"reduction": r}, grad_target=True)
    add("smooth_l1_loss " + r, "smooth_l1_loss", xs, ys, {"reduction": r}, grad_target=True)
    add("smooth_l1_loss beta=0.5 " + r, "smooth_l1_loss", xs, ys, {"reduction": r, "beta": 0.5}, grad_target=True)
    add("smooth_l1_loss beta=0 " + r, "smooth_l1_loss", xs, ys, {"reduction": r, "beta": 0.0}, grad_target=True)
    add("huber_loss " + r, "huber_loss", xs, ys, {"reduction": r}, grad_target=True)
    add("huber_loss delta=0.7 " + r, "huber_loss", xs, ys, {"reduction": r, "delta": 0.7}, grad_target=True)
    add("binary_cross_entropy " + r, "binary_cross_entropy", probs_in, probs_tg, {"reduction": r}, grad_target=True)
    add("binary_cross_entropy weight " + r, "binary_cross_entropy", probs_in, probs_tg,
        {"reduction": r, "weight": torch.rand(4, dtype=DT)}, grad_target=True)
    add("binary_cross_entropy_with_logits " + r, "binary_cross_entropy_with_logits", xs * 3, probs_tg,
        {"reduction": r}, grad_target=True)
    add("binary_cross_entropy_with_logits weight pos_weight " + r, "binary_cross_entropy_with_logits", xs * 3,
        probs_tg, {"reduction": r, "weight": torch.rand(3, 1, dtype=DT), "pos_weight": torch.rand(4, dtype=DT) * 3},
        grad_target=True)
    add("kl_div " + r, "kl_div", torch.log_softmax(xs, 1), torch.softmax(ys, 1), {"reduction": r}, grad_target=True)
    add("kl_div log_target " + r, "kl_div", torch.log_softmax(xs, 1), torch.log_softmax(ys, 1),
        {"reduction": r, "log_target": True}, grad_target=True)
add("kl_div batchmean", "kl_div", torch.log_softmax(xs, 1), torch.softmax(ys, 1), {"reduction": "batchmean"},
    grad_target=True)
add("kl_div log_target batchmean", "kl_div", torch.log_softmax(xs, 1), torch.log_softmax(ys, 1),
    {"reduction": "batchmean", "log_target": True}, grad_target=True)
add("mse_loss broadcast target", "mse_loss", xs, ys[0], {}, grad_target=True)
# the log clamp at -100 (forward only: the gradient there is +-1e12-sized)
clamp_in = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=DT)
clamp_tg = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=DT)
for r in REDUCTIONS:
    x_ = clamp_in.clone().requires_grad_(True)
    out = F.binary_cross_entropy(x_, clamp_tg, reduction=r)
    cases.append({"name": "binary_cross_entropy log clamp " + r, "fn": "binary_cross_entropy", "input": T(clamp_in),
                  "target": T(clamp_tg), "opts": {"reduction": r}, "out": T(out), "forward_only": True,
                  "grad_fn": type(out.grad_fn).__name__})


# ----------------------------------------------------------------- output
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
        return "%.12g" % v
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(e) for e in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(e)}" for k, e in v.items()) + "}"
    raise TypeError(type(v))


here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "spec", "fixtures", "nn.lua")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    f.write("-- generated by tools/gen_nn_fixtures.py with PyTorch %s: do not edit\n" % torch.__version__)
    f.write("return {\n")
    for c in cases:
        f.write("  " + lua(c) + ",\n")
    f.write("}\n")
print("wrote %d cases to %s" % (len(cases), os.path.normpath(path)))
