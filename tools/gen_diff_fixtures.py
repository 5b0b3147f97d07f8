#!/usr/bin/env python3
"""gen_diff_fixtures.py: differential fuzzing of tgrad against PyTorch. Draws
random *valid* cases for the common ops (unary, broadcasting binary, reductions
over random dims, softmax, matrix products, views and shape ops, clamp/where),
on random shapes (scalars, size-1 dims, broadcasting, transposed and narrowed
non-contiguous inputs), in float64, and records PyTorch's forward values and
input gradients in spec/fixtures/diff.lua (read by spec/diff_spec.lua through
spec/support/fixtures.lua; the specs never need Python).

  /work/venv/bin/python tools/gen_diff_fixtures.py [--seed S] [--cases N]

Each case is an expression over a, b, c in tgrad's Lua (1-based dims) and the
same in PyTorch (0-based)."""
import argparse
import math
import os
import random

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=20261201)
ap.add_argument("--cases", type=int, default=400)
opt = ap.parse_args()
random.seed(opt.seed)
torch.manual_seed(opt.seed)
DT = torch.float64


def rshape(maxd=3, lo=1, hi=4):
    return [random.randint(lo, hi) for _ in range(random.randint(0, maxd))]


def rnd(shape, kind="any"):
    t = torch.randn(shape, dtype=DT)
    if kind == "pos":
        t = t.abs() + 0.5
    elif kind == "away":  # away from 0 (divisors, reciprocals)
        t = torch.sign(t) * (t.abs() + 0.5)
        t[t == 0] = 1.0
    elif kind == "gt-1":
        t = t.abs() * 0.5 - 0.4
    elif kind == "distinct":  # no ties (max/amax/sort gradients)
        n = t.numel()
        t = (torch.randperm(max(n, 1))[:n].to(DT) * 0.37 - n * 0.1).reshape(shape)
    return t


def bshape(shape):
    """a shape that broadcasts against shape"""
    s = list(shape)
    s = s[random.randint(0, len(s)):] if s else []
    s = [1 if random.random() < 0.3 else d for d in s]
    return s


def ldim(d, nd):
    """torch 0-based dim -> a tgrad dim (1-based, or the same negative one)"""
    return d - nd if random.random() < 0.3 else d + 1


UNARY = [
    ("exp", "a:exp()", lambda a: a.exp(), "any"), ("log", "a:log()", lambda a: a.log(), "pos"),
    ("sigmoid", "a:sigmoid()", lambda a: a.sigmoid(), "any"), ("tanh", "a:tanh()", lambda a: a.tanh(), "any"),
    ("sqrt", "a:sqrt()", lambda a: a.sqrt(), "pos"), ("abs", "a:abs()", lambda a: a.abs(), "away"),
    ("neg", "-a", lambda a: -a, "any"), ("sin", "a:sin()", lambda a: a.sin(), "any"),
    ("cos", "a:cos()", lambda a: a.cos(), "any"), ("square", "a:square()", lambda a: a.square(), "any"),
    ("softplus", "a:softplus()", lambda a: torch.nn.functional.softplus(a), "any"),
    ("gelu", "a:gelu()", lambda a: torch.nn.functional.gelu(a), "any"),
    ("silu", "a:silu()", lambda a: torch.nn.functional.silu(a), "any"), ("erf", "a:erf()", lambda a: a.erf(), "any"),
    ("rsqrt", "a:rsqrt()", lambda a: a.rsqrt(), "pos"), ("reciprocal", "a:reciprocal()", lambda a: a.reciprocal(), "away"),
    ("log1p", "a:log1p()", lambda a: a.log1p(), "gt-1"), ("expm1", "a:expm1()", lambda a: a.expm1(), "any"),
    ("relu", "a:relu()", lambda a: a.relu(), "away"), ("tan", "(a * 0.3):tan()", lambda a: (a * 0.3).tan(), "any"),
]
BINARY = [
    ("add", "a + b", lambda a, b: a + b, "any"), ("sub", "a - b", lambda a, b: a - b, "any"),
    ("mul", "a * b", lambda a, b: a * b, "any"), ("div", "a / b", lambda a, b: a / b, "away"),
    ("pow", "a ^ b", lambda a, b: a ** b, "pospow"), ("maximum", "tg.maximum(a, b)", torch.maximum, "distinct"),
    ("minimum", "tg.minimum(a, b)", torch.minimum, "distinct"), ("atan2", "tg.atan2(a, b)", torch.atan2, "away"),
    ("add_alpha", "a:add(b, {alpha = 2.5})", lambda a, b: a.add(b, alpha=2.5), "any"),
    ("mul_scalar", "a * 1.75 - b / 3", lambda a, b: a * 1.75 - b / 3, "any"),
]

cases = []


def T(t):
    t = t.detach()
    return {"shape": list(t.shape), "dtype": "float64", "data": [float(v) for v in t.reshape(-1).tolist()]}


def add(name, expr, fn, ins, tol=1e-9):
    xs = [x.clone().requires_grad_(True) for x in ins]
    out = fn(*xs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    gos = [torch.randn(o.shape, dtype=DT) for o in outs]
    used = [o for o in outs if o.requires_grad]
    grads = torch.autograd.grad(used, xs, [g for o, g in zip(outs, gos) if o.requires_grad], allow_unused=True) \
        if used else [None] * len(xs)
    cases.append({"name": "%s #%d" % (name, len(cases) + 1), "expr": expr,
                  "inputs": [dict(T(x), requires_grad=True) for x in ins], "outputs": [T(o) for o in outs],
                  "grad_outs": [T(g) for g in gos],
                  "grads": [T(g) if g is not None else False for g in grads], "tol": tol})


def maybe_view(shape):
    """a (torch input, lua expr for 'a', torch fn applying the same view) making a non-contiguous input"""
    if len(shape) >= 2 and random.random() < 0.35:
        base = shape[:-2] + [shape[-1], shape[-2]]
        return base, "a:transpose(-1, -2)", lambda a: a.transpose(-1, -2)
    if len(shape) >= 1 and random.random() < 0.2:
        base = list(shape)
        base[0] += 2
        return base, "a:narrow(1, 2, %d)" % shape[0], lambda a: a.narrow(0, 1, shape[0])
    return shape, "a", lambda a: a


def gen_unary():
    name, expr, fn, kind = random.choice(UNARY)
    shape = rshape()
    base, v_lua, v_t = maybe_view(shape)
    add(name, expr.replace("a", "(" + v_lua + ")", 1) if v_lua != "a" else expr,
        lambda a: fn(v_t(a)), [rnd(base, kind)])


def gen_binary():
    name, expr, fn, kind = random.choice(BINARY)
    sa = rshape()
    sb = bshape(sa)
    if random.random() < 0.5:
        sa, sb = sb, sa
    if kind == "pospow":
        a, b = rnd(sa, "pos"), rnd(sb) * 0.7
    elif kind == "distinct":
        a, b = rnd(sa), rnd(sb) + 0.013
    elif kind == "away":
        a, b = rnd(sa), rnd(sb, "away")
    else:
        a, b = rnd(sa), rnd(sb)
    add(name, expr, fn, [a, b])


def gen_reduce():
    shape = rshape(3)
    nd = len(shape)
    kind = random.choice(["sum", "mean", "std", "var", "prod", "amax", "logsumexp", "norm", "cumsum", "cumprod",
                          "softmax", "log_softmax", "max"])
    if nd == 0 and kind in ("std", "var"):
        kind = "sum"
    keep = random.random() < 0.4
    if nd == 0 or kind in ("sum", "mean", "norm") and random.random() < 0.25:
        lua = {"sum": "a:sum()", "mean": "a:mean()", "norm": "a:norm()"}.get(kind)
        if lua and nd > 0:
            add(kind + " all", lua, {"sum": lambda a: a.sum(), "mean": lambda a: a.mean(),
                                     "norm": lambda a: a.norm()}[kind], [rnd(shape, "away")])
            return
        add("sum 0-d", "a:sum()", lambda a: a.sum(), [rnd(shape)])
        return
    d = random.randrange(nd)
    L = ldim(d, nd)
    k = "true" if keep else "false"
    x = rnd(shape, "distinct" if kind in ("amax", "max") else ("away" if kind in ("prod", "cumprod", "norm") else "any"))
    if kind in ("std", "var") and shape[d] < 2:
        kind = "mean"
    table = {
        "sum": ("a:sum(%d, {keepdim = %s})" % (L, k), lambda a: a.sum(d, keepdim=keep)),
        "mean": ("a:mean(%d, {keepdim = %s})" % (L, k), lambda a: a.mean(d, keepdim=keep)),
        "std": ("a:std(%d, {keepdim = %s})" % (L, k), lambda a: a.std(d, keepdim=keep)),
        "var": ("a:var(%d, {keepdim = %s})" % (L, k), lambda a: a.var(d, keepdim=keep)),
        "prod": ("a:prod(%d, {keepdim = %s})" % (L, k), lambda a: a.prod(d, keepdim=keep)),
        "amax": ("a:amax(%d, {keepdim = %s})" % (L, k), lambda a: a.amax(d, keepdim=keep)),
        "logsumexp": ("a:logsumexp(%d, {keepdim = %s})" % (L, k), lambda a: a.logsumexp(d, keepdim=keep)),
        "norm": ("a:norm(2, %d)" % L, lambda a: a.norm(2, d)),
        "cumsum": ("a:cumsum(%d)" % L, lambda a: a.cumsum(d)),
        "cumprod": ("a:cumprod(%d)" % L, lambda a: a.cumprod(d)),
        "softmax": ("a:softmax(%d)" % L, lambda a: a.softmax(d)),
        "log_softmax": ("a:log_softmax(%d)" % L, lambda a: a.log_softmax(d)),
        "max": ("(a:max(%d, {keepdim = %s}))" % (L, k), lambda a: a.max(d, keepdim=keep)[0]),
    }
    lua, fn = table[kind]
    add(kind, lua, fn, [x])


def gen_matmul():
    m, k, n = random.randint(1, 5), random.randint(1, 5), random.randint(1, 5)
    kind = random.choice(["mm", "mm_t", "matmul_b", "bmm", "mv", "dot", "outer", "addmm", "matmul_1d"])
    if kind == "mm":
        add("mm", "a:mm(b)", lambda a, b: a.mm(b), [rnd([m, k]), rnd([k, n])])
    elif kind == "mm_t":
        add("mm transposed", "a:t():mm(b:t())", lambda a, b: a.t().mm(b.t()), [rnd([k, m]), rnd([n, k])])
    elif kind == "matmul_b":
        bt = random.randint(1, 3)
        add("matmul broadcast", "tg.matmul(a, b)", torch.matmul, [rnd([bt, m, k]), rnd([k, n])])
    elif kind == "bmm":
        bt = random.randint(1, 3)
        add("bmm", "a:bmm(b)", lambda a, b: a.bmm(b), [rnd([bt, m, k]), rnd([bt, k, n])])
    elif kind == "mv":
        add("mv", "a:mv(b)", lambda a, b: a.mv(b), [rnd([m, k]), rnd([k])])
    elif kind == "dot":
        add("dot", "a:dot(b)", lambda a, b: a.dot(b), [rnd([k]), rnd([k])])
    elif kind == "outer":
        add("outer", "a:outer(b)", lambda a, b: a.outer(b), [rnd([m]), rnd([n])])
    elif kind == "addmm":
        add("addmm", "tg.addmm(c, a, b, {beta = 0.5, alpha = 2})",
            lambda a, b, c: torch.addmm(c, a, b, beta=0.5, alpha=2), [rnd([m, k]), rnd([k, n]), rnd(bshape([m, n]))])
    else:
        add("matmul 1-d", "tg.matmul(a, b)", torch.matmul, [rnd([k]), rnd([random.randint(1, 2), k, n])])


def gen_shape():
    shape = rshape(3, 1, 4)
    while len(shape) < 2:
        shape.append(random.randint(1, 4))
    nd = len(shape)
    kind = random.choice(["transpose", "permute", "narrow", "select", "reshape", "flatten", "unsqueeze", "expand",
                          "cat", "stack", "flip", "roll", "repeat", "tril", "triu", "clamp", "where", "squeeze"])
    x = rnd(shape)
    d = random.randrange(nd)
    L = ldim(d, nd)
    if kind == "transpose":
        e = random.randrange(nd)
        add(kind, "a:transpose(%d, %d):contiguous() * 1" % (L, e + 1), lambda a: a.transpose(d, e) * 1, [x])
    elif kind == "permute":
        p = list(range(nd))
        random.shuffle(p)
        add(kind, "a:permute(%s) * 2" % ", ".join(str(i + 1) for i in p), lambda a: a.permute(*p) * 2, [x])
    elif kind == "narrow":
        st = random.randrange(shape[d])
        ln = random.randint(0, shape[d] - st)
        add(kind, "a:narrow(%d, %d, %d) * 1" % (L, st + 1, ln), lambda a: a.narrow(d, st, ln) * 1, [x])
    elif kind == "select":
        i = random.randrange(shape[d])
        add(kind, "a:select(%d, %d) * 1" % (L, i + 1), lambda a: a.select(d, i) * 1, [x])
    elif kind == "reshape":
        n = x.numel()
        add(kind, "a:reshape(%d, -1)" % n, lambda a: a.reshape(n, -1), [x])
    elif kind == "flatten":
        add(kind, "a:flatten() * 1", lambda a: a.flatten() * 1, [x])
    elif kind == "unsqueeze":
        u = random.randrange(nd + 1)
        add(kind, "a:unsqueeze(%d) * 1" % (u + 1), lambda a: a.unsqueeze(u) * 1, [x])
    elif kind == "squeeze":
        s = list(shape)
        s[d] = 1
        add(kind, "a:squeeze(%d) * 1" % L, lambda a: a.squeeze(d) * 1, [rnd(s)])
    elif kind == "expand":
        s = list(shape)
        s[d] = 1
        tgt = list(shape)
        add(kind, "a:expand(%s) * 1" % ", ".join(map(str, tgt)), lambda a: a.expand(*tgt) * 1, [rnd(s)])
    elif kind == "cat":
        s2 = list(shape)
        s2[d] = random.randint(1, 3)
        add(kind, "tg.cat({a, b}, %d)" % L, lambda a, b: torch.cat([a, b], d), [x, rnd(s2)])
    elif kind == "stack":
        add(kind, "tg.stack({a, b}, %d)" % (d + 1), lambda a, b: torch.stack([a, b], d), [x, rnd(shape)])
    elif kind == "flip":
        add(kind, "a:flip(%d)" % L, lambda a: a.flip(d), [x])
    elif kind == "roll":
        sh = random.randint(-3, 3)
        add(kind, "a:roll(%d, %d)" % (sh, L), lambda a: a.roll(sh, d), [x])
    elif kind == "repeat":
        r = [random.randint(1, 2) for _ in range(nd)]
        add(kind, "a:repeat_(%s)" % ", ".join(map(str, r)) if False else "a:repeatTensor(%s)" % ", ".join(map(str, r)),
            lambda a: a.repeat(*r), [x])
    elif kind == "tril":
        k = random.randint(-1, 1)
        add(kind, "a:tril(%d)" % k, lambda a: a.tril(k), [x])
    elif kind == "triu":
        k = random.randint(-1, 1)
        add(kind, "a:triu(%d)" % k, lambda a: a.triu(k), [x])
    elif kind == "clamp":
        add(kind, "a:clamp(-0.5, 0.6)", lambda a: a.clamp(-0.5, 0.6), [rnd(shape, "distinct") * 0.31 + 0.017])
    elif kind == "where":
        add(kind, "tg.where(a:gt(0), a * 2, b)", lambda a, b: torch.where(a > 0, a * 2, b), [rnd(shape, "away"),
                                                                                       rnd(bshape(shape))])


GENS = [(gen_unary, 3), (gen_binary, 3), (gen_reduce, 3), (gen_matmul, 2), (gen_shape, 3)]
pool = [g for g, w in GENS for _ in range(w)]
while len(cases) < opt.cases:
    random.choice(pool)()


def lua(v, ind=""):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "0/0"
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "diff.lua")
with open(out, "w") as f:
    f.write("-- generated by tools/gen_diff_fixtures.py (seed %d) with PyTorch %s: do not edit\n" % (opt.seed,
                                                                                                 torch.__version__))
    f.write("return {\n")
    for c in cases:
        f.write("  " + lua(c) + ",\n")
    f.write("}\n")
print("wrote %d cases to %s" % (len(cases), os.path.relpath(out)))
